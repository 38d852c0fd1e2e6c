"""Custom computations on a model's variables under the run's distribution strategy."""


def on_replicas(strategy, fn, *args):
    """``fn(*args)`` run in ``strategy``'s replica context; the first replica's result.

    ``model.fit`` enters the replica context itself, but a computation of the
    experiment's own (a gradient probe under ``tf.GradientTape``) runs in the
    cross-replica context of the strategy's scope, where a
    ``MirroredVariable`` cannot be watched ("DistributedVariable.handle is not
    available outside the replica context"). ``strategy.run`` gives every
    replica the same, undistributed ``args``; mirrored variables hold equal
    values on every replica, so every replica computes the same ``fn`` on the
    whole batch, and the first one's result is the single-device one. Under
    the default strategy this is ``fn(*args)`` as a ``tf.function``.

    Args:
        strategy: the run's ``tf.distribute.Strategy`` (``context.strategy``),
            or None for the current one.
        fn: a function of tensors returning a nest of tensors, traced with
            ``tf.function`` (as ``fit`` does, and MirroredStrategy requires
            for speed).
        *args: tensors or arrays, passed whole to every replica.

    Returns:
        The nest of ``fn``'s results from the first replica, as tensors.
    """
    import tensorflow as tf

    strategy = strategy or tf.distribute.get_strategy()
    results = strategy.run(tf.function(fn), args=args)
    return tf.nest.map_structure(lambda v: strategy.experimental_local_results(v)[0], results)


def clip_after_all_reduce(optimizer):
    """Make ``optimizer``'s ``global_clipnorm`` clip the whole batch's gradient
    under a strategy with several replicas; on this instance only.

    The notes' rule (R5) clips g, the gradient of the batch loss:
    theta <- theta - gamma T g / ||g|| when ||g|| > T, so no step is longer
    than gamma T. Keras 3 clips each replica's share of g (its gradient of
    loss / replicas) before it sums the shares, so with R replicas a step can
    reach R gamma T and points elsewhere (tf.keras once disabled clipping
    under strategies for this reason, tensorflow/tensorflow#33929). Here
    ``apply`` first sums the shares (g on every replica), clips g, and hands
    Keras clip(g) / R per replica: Keras's own clipping leaves a share of
    norm <= T / R unchanged, and its sum gives back clip(g). Under one
    replica ``apply`` is untouched. The optimizer's config is unchanged, so a
    saved model reloads with the plain optimizer.

    Returns:
        ``optimizer``.
    """
    import tensorflow as tf

    threshold = optimizer.global_clipnorm
    if threshold is None:
        return optimizer
    keras_apply = optimizer.apply

    def apply(grads, trainable_variables=None):
        replica = tf.distribute.get_replica_context()
        if replica is not None and replica.num_replicas_in_sync > 1:
            grads = list(grads)
            present = [i for i, g in enumerate(grads) if g is not None]
            total = replica.all_reduce(tf.distribute.ReduceOp.SUM, [grads[i] for i in present])
            clipped, _ = tf.clip_by_global_norm(total, threshold)
            for i, g in zip(present, clipped):
                grads[i] = g / replica.num_replicas_in_sync
        return keras_apply(grads, trainable_variables)

    optimizer.apply = apply
    return optimizer
