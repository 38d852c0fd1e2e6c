"""The variational autoencoder, the beta-VAE and the constrained beta-VAE (claims A4-A6).

The model owns the ELBO's two terms, its trackers and the encoder/decoder
plumbing; the objectives live in `vae_objectives`, the likelihoods in
`vae_likelihoods`, the encoder/decoder/data checks in `vae_contract` and the
importance-weighted log p(x) in `mpkeras.metrics.log_likelihood`.

What is left is one class; it is over 400 lines because each public method
(encode, decode, sample, reconstruct, interpolate, log_likelihood, the
training and test steps) carries the notes' formula in its docstring.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from mpkeras import validation
from mpkeras.layers.sampling import Sampling
from mpkeras.losses import gaussian_kl
from mpkeras.metrics.log_likelihood import importance_weighted_log_likelihood
from mpkeras.models import vae_contract
from mpkeras.models.vae_likelihoods import LIKELIHOODS, decoded_mean, reconstruction_loss
from mpkeras.models.vae_objectives import make_objective


def _global_sum(value):
    """Sum of `value` over the replicas (identity outside tf.distribute)."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return value
    return context.all_reduce(tf.distribute.ReduceOp.SUM, value)


@keras.saving.register_keras_serializable(package="mpkeras")
class VAE(keras.Model):
    """Variational autoencoder trained on the ELBO; beta-VAE; KL <= delta.

    The notes' VAE (section 5, claims A4-A6). The encoder maps x to the mean
    and log-variance of q(z | x) = N(mu(x), diag(sigma^2(x))), a `Sampling`
    layer draws z = mu + sigma * eps with eps ~ N(0, I) (reparameterisation),
    and the decoder maps z to the parameters of p(x | z). Training maximises

        ELBO(x) = E_q[log p(x | z)] - KL(q(z | x) || N(0, I))   <=  log p(x)

    with one sample of z per example: it minimises rec + beta * kl, where
    rec = -log p(x | z) is SUMMED over pixels (all event axes) and
    kl = 0.5 * sum_j (sigma_j^2 + mu_j^2 - 1 - log sigma_j^2) over latent
    dimensions, both then AVERAGED over the batch. Summing over pixels makes
    the two terms a log-likelihood and a KL in one unit, nats per example;
    averaging over pixels (as `keras.losses` do) would silently multiply
    beta by the number of pixels.

    Objectives (claim A6, one class each in `vae_objectives`): `beta=1`,
    the VAE (`loss` is the negative ELBO); `beta != 1`, the beta-VAE, loss =
    rec + beta kl; `kl_threshold=delta`, min rec s.t. kl <= delta by its
    Lagrangian rec + beta (kl - delta) and dual ascent after every batch,
    beta <- max(0, beta + beta_learning_rate (kl - delta)); `capacity=C_max`,
    loss = rec + beta |kl - C(t)|, C(t) = C_max min(1, t / capacity_steps).
    beta and the step counter t are non-trainable weights, saved and
    restored by `.keras` files and `BackupAndRestore`.

    Encoder/decoder contract (checked when the VAE is built):
    - encoder: x -> [mean, log_var], each (batch, latent_dim), or one
      tensor (batch, 2 * latent_dim) split as [mean | log_var].
    - decoder: z (batch, latent_dim) -> the parameters of p(x | z), shaped
      like x. With `likelihood="bernoulli"` they are probabilities, as
      Keras's binary cross-entropy expects by default (a decoder ending in a
      sigmoid, like the Keras VAE example's), or logits with
      `from_logits=True` (a linear last layer, like `build_vae_decoder`'s).
      A visible contradiction (a sigmoid read as logits, a linear output
      read as probabilities) raises a ValueError; outputs outside [0, 1]
      with `from_logits=False` and Bernoulli targets outside [0, 1]
      (un-normalised images: divide by 255) stop training with an error.
      With `likelihood="gaussian"` they are the means; sigma is fixed.

    Data: `fit`/`evaluate` take x, or (x, y) as `mpkeras.data.load` yields.
    The reconstruction target is y when it has the shape of x (plain or
    denoising reconstruction), else x: `fit(x, labels)` ignores labels of
    another shape. Sample weights and `class_weight` raise.

    Compile: the loss is the model's own objective, so `compile(loss=...)`
    raises. `compile(metrics=[...])` metrics compare the target with the
    reconstruction: in training the decoded mean at the sampled z (the
    training forward pass, as Keras's training metrics see dropout), in
    `evaluate`/validation the output of `predict` (z = mu(x)).

    Logs: `loss` (the objective), `reconstruction`, `kl`, `beta` (the
    weight used in the step), `elbo` = -(reconstruction + kl), in nats per
    example, then compiled metrics. Under `tf.distribute` each replica
    divides its sums by the GLOBAL batch size: a multi-replica step is the
    one-device step on the whole batch. XLA (`jit_compile=True`, which
    "auto" picks where there is a GPU, none on a CPU-only machine) drops
    the in-graph data checks; measure before turning it on
    (benchmarks/bench_vae.py).

    Args:
        encoder: a Keras model x -> [mean, log_var] or x -> [mean | log_var].
        decoder: a Keras model z -> the parameters of p(x | z), shaped like x.
        likelihood: "bernoulli" or "gaussian".
        beta: the KL weight >= 0 (the initial multiplier with `kl_threshold`).
        kl_threshold: delta >= 0 in nats, or None (constrained form).
        beta_learning_rate: the dual-ascent step size > 0.
        capacity: C_max >= 0 in nats, or None (capacity schedule).
        capacity_steps: T, a positive integer.
        sigma: the Gaussian likelihood's standard deviation > 0.
        from_logits: whether a Bernoulli decoder outputs logits (default
            False: probabilities). The Gaussian likelihood ignores it.
        seed: seed of the `Sampling` layer.
        **kwargs: base `keras.Model` arguments (`name`, ...).

    Call arguments:
        inputs: a batch x. Returns the mean of p(x | z) at z = mu(x) (the
            posterior mean, so `predict` is deterministic).

    Example:

    >>> vae = VAE(encoder, decoder)  # decoder ends in a sigmoid
    >>> vae.compile(optimizer="adam")
    >>> vae.fit(x_train, epochs=10, batch_size=128)  # x in [0, 1]
    >>> vae.log_likelihood(x_test, num_samples=1000)  # log p(x), nats
    """

    def __init__(
        self,
        encoder,
        decoder,
        likelihood="bernoulli",
        beta=1.0,
        kl_threshold=None,
        beta_learning_rate=0.01,
        capacity=None,
        capacity_steps=10000,
        sigma=1.0,
        from_logits=False,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.likelihood = validation.one_of(likelihood, "likelihood", LIKELIHOODS)
        self.initial_beta = validation.non_negative_number(beta, "beta")
        self.kl_threshold = validation.non_negative_number(
            kl_threshold, "kl_threshold", allow_none=True
        )
        self.beta_learning_rate = validation.positive_number(
            beta_learning_rate, "beta_learning_rate"
        )
        self.capacity = validation.non_negative_number(capacity, "capacity", allow_none=True)
        self.capacity_steps = validation.positive_int(capacity_steps, "capacity_steps")
        self.sigma = validation.positive_number(sigma, "sigma")
        if not isinstance(from_logits, (bool, np.bool_)):
            raise validation.invalid("from_logits", "True or False", from_logits)
        self.from_logits = bool(from_logits)
        self.objective = make_objective(
            self.kl_threshold, self.beta_learning_rate, self.capacity, self.capacity_steps
        )
        self.seed = seed
        self.latent_dim = vae_contract.latent_dim(encoder, decoder)
        vae_contract.check_halves_fit(encoder, decoder)
        vae_contract.check_decoder_output(decoder, self.likelihood, self.from_logits)
        self.encoder = encoder
        self.decoder = decoder
        self.sampling = Sampling(seed=seed, name="sampling")
        self._reconstruction_metrics = False

        # beta is a weight, not a Python float: the dual ascent updates it,
        # and `.keras` files / BackupAndRestore checkpoints carry it (A6).
        self.beta = self.add_weight(
            name="beta",
            shape=(),
            trainable=False,
            aggregation="only_first_replica",
            initializer=keras.initializers.Constant(self.initial_beta),
        )
        self.train_steps = self.add_weight(
            name="train_steps",
            shape=(),
            dtype="int64",
            initializer="zeros",
            trainable=False,
            aggregation="only_first_replica",
        )
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self.beta_tracker = keras.metrics.Mean(name="beta")
        self.elbo_tracker = keras.metrics.Mean(name="elbo")
        # Functional halves are built already: build now, so BackupAndRestore
        # and `save` work before the model has seen data.
        inputs = getattr(encoder, "inputs", None)
        if inputs and encoder.built and decoder.built:
            self.build(tuple(inputs[0].shape))

    def build(self, input_shape):
        if not self.encoder.built:
            self.encoder.build(input_shape)
        if self.latent_dim is not None and not self.decoder.built:
            self.decoder.build((None, self.latent_dim))
        if self.latent_dim is not None:
            self.sampling.build([(None, self.latent_dim)] * 2)
        self.built = True

    def compile(
        self,
        optimizer="rmsprop",
        loss=None,
        loss_weights=None,
        metrics=None,
        weighted_metrics=None,
        **kwargs,
    ):
        """`keras.Model.compile` without `loss`: the VAE trains its own objective.

        `metrics` compare the target with the decoded mean (class docstring).
        The optimizer is built here, as `compile_from_config` does: variables
        created in `fit`'s first trace would make it trace the step twice.
        """
        for name, value in (
            ("loss", loss),
            ("loss_weights", loss_weights),
            ("weighted_metrics", weighted_metrics),
        ):
            if value is not None:
                raise ValueError(
                    f"`VAE.compile` takes no `{name}`: the loss is the VAE's "
                    "own objective (the negative ELBO, or the beta / "
                    "constrained form set by `beta`, `kl_threshold`, "
                    "`capacity`), and examples carry no weights. Pass "
                    f"`metrics` to track the reconstruction. Received: {name}={value!r}"
                )
        super().compile(optimizer=optimizer, metrics=metrics, **kwargs)
        self._reconstruction_metrics = bool(metrics)
        if self.built and self.optimizer is not None and not self.optimizer.built:
            self.optimizer.build(self.trainable_variables)

    def compile_from_config(self, config):
        # Keras skips a custom `compile` when loading unless this is overridden.
        self.compile(**keras.saving.deserialize_keras_object(config))

    def encode(self, x, training=False):
        """The mean and log-variance of q(z | x)."""
        outputs = self.encoder(x, training=training)
        if isinstance(outputs, (list, tuple)):
            vae_contract.check_encoder_outputs([tuple(o.shape) for o in outputs], self.latent_dim)
            mean, log_var = outputs
        else:
            vae_contract.check_encoder_outputs([tuple(outputs.shape)], self.latent_dim)
            mean, log_var = ops.split(outputs, 2, axis=-1)
        if self.latent_dim is None:  # Subclassed halves: known once data went through.
            self.latent_dim = mean.shape[-1]
        return mean, log_var

    def decode(self, z, training=False):
        """The mean of p(x | z): probabilities (Bernoulli) or means (Gaussian)."""
        return decoded_mean(self.decoder(z, training=training), self.likelihood, self.from_logits)

    def reconstruction_loss(self, target, decoder_output):
        """-log p(target | z) per example, summed over the event axes, in nats."""
        return reconstruction_loss(
            target, decoder_output, self.likelihood, self.from_logits, self.sigma
        )

    def call(self, inputs, training=False):
        mean, _ = self.encode(inputs, training=training)
        return self.decode(mean, training=training)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def _trackers(self):
        return [
            self.loss_tracker,
            self.reconstruction_tracker,
            self.kl_tracker,
            self.beta_tracker,
            self.elbo_tracker,
        ]

    @property
    def metrics(self):
        trackers = self._trackers()
        # Keras's own list adds its `loss` tracker (ours replaces it), the
        # compiled metrics and the halves' metrics.
        ours = {id(t) for t in trackers}
        others = [m for m in super().metrics if id(m) not in ours and m.name != "loss"]
        return trackers + others

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Compiled metrics of (the reconstruction target, the reconstruction)."""
        _, target = vae_contract.split_data((x, y))
        return super().compute_metrics(x, target, y_pred, sample_weight)

    def _terms(self, x, target, training):
        """The gradient loss (a replica's share), the global KL and the local logs."""
        mean, log_var = self.encode(x, training=training)
        z = self.sampling([mean, log_var])
        params = self.decoder(z, training=training)
        rec = self.reconstruction_loss(target, params)
        kl = gaussian_kl(ops.cast(mean, "float32"), ops.cast(log_var, "float32"), reduction="none")
        local_n = ops.cast(ops.shape(rec)[0], "float32")
        global_n = _global_sum(local_n)
        # Per-example sums / GLOBAL batch: summed over replicas (as the
        # optimizer sums gradients) these are the one-device batch means.
        rec_share = ops.sum(rec) / global_n
        kl_share = ops.sum(kl) / global_n
        kl_global = ops.stop_gradient(_global_sum(kl_share))
        beta = ops.cast(self.beta, "float32")
        step = self.train_steps
        weight = ops.stop_gradient(self.objective.kl_weight(kl_global, beta, step))
        rec_local, kl_local = ops.sum(rec) / local_n, ops.sum(kl) / local_n
        logs = {
            "loss": self.objective.loss(rec_local, kl_global, beta, step),
            "reconstruction": rec_local,
            "kl": kl_local,
            "beta": beta,
            "elbo": -(rec_local + kl_local),
        }
        return rec_share + weight * kl_share, kl_global, local_n, logs, (mean, params)

    def _report(self, logs, local_n, x, target, y_pred):
        for tracker in self._trackers():
            tracker.update_state(logs[tracker.name], sample_weight=local_n)
        if self._reconstruction_metrics:
            return super().compute_metrics(x, target, y_pred)
        return {tracker.name: tracker.result() for tracker in self._trackers()}

    def train_step(self, data):
        x, target = vae_contract.split_data(data)
        with tf.GradientTape() as tape:
            objective, kl_global, local_n, logs, (_, params) = self._terms(x, target, True)
            scaled = self.optimizer.scale_loss(objective)
        weights = self.trainable_weights
        self.optimizer.apply_gradients(zip(tape.gradient(scaled, weights), weights))
        new_beta = self.objective.next_beta(kl_global, ops.cast(self.beta, "float32"))
        if new_beta is not None:
            # Every replica computes the same value from the all-reduced KL.
            self.beta.assign(ops.cast(new_beta, self.beta.dtype))
        self.train_steps.assign_add(1)
        y_pred = None
        if self._reconstruction_metrics:
            y_pred = decoded_mean(params, self.likelihood, self.from_logits)
        return self._report(logs, local_n, x, target, y_pred)

    def test_step(self, data):
        x, target = vae_contract.split_data(data)
        _, _, local_n, logs, (mean, _) = self._terms(x, target, False)
        # The metrics see what `predict` returns: the decoded posterior mean.
        y_pred = self.decode(mean) if self._reconstruction_metrics else None
        return self._report(logs, local_n, x, target, y_pred)

    def sample(self, n, seed=None):
        """n draws of the mean of p(x | z) with z ~ N(0, I) from the prior (A5)."""
        n = validation.positive_int(n, "n")
        if self.latent_dim is None:
            raise ValueError("The latent size is unknown: call the model on data first.")
        z = keras.random.normal((n, self.latent_dim), seed=seed)
        return ops.convert_to_numpy(self.decode(z))

    def reconstruct(self, x):
        """The mean of p(x | z) at the posterior mean z = mu(x)."""
        return ops.convert_to_numpy(self(ops.convert_to_tensor(x, "float32")))

    def interpolate(self, x1, x2, steps=8):
        """Decode the straight line between the posterior means of x1 and x2 (A5).

        Args:
            x1, x2: single examples (no batch axis) or equal-size batches.
            steps: number of points from x1 (t = 0) to x2 (t = 1), >= 2.

        Returns:
            Decoded means of shape `(steps, *x.shape)` for single examples,
            `(batch, steps, *x.shape[1:])` for batches.
        """
        steps = validation.int_at_least(steps, "steps", 2)
        x1 = np.asarray(x1, "float32")
        x2 = np.asarray(x2, "float32")
        if x1.shape != x2.shape:
            raise ValueError(
                "`x1` and `x2` must have the same shape. Received: "
                f"x1.shape={x1.shape}, x2.shape={x2.shape}"
            )
        inputs = getattr(self.encoder, "inputs", None)
        single = bool(inputs) and x1.ndim == len(inputs[0].shape) - 1
        if single:
            x1, x2 = x1[None], x2[None]
        m1, _ = self.encode(x1)
        m2, _ = self.encode(x2)
        # In the codes' dtype: under a mixed policy they are bfloat16 or float16.
        t = ops.cast(ops.reshape(ops.linspace(0.0, 1.0, steps), (1, steps, 1)), m1.dtype)
        z = (1.0 - t) * m1[:, None, :] + t * m2[:, None, :]
        batch = x1.shape[0]
        decoded = ops.convert_to_numpy(self.decode(ops.reshape(z, (batch * steps, -1))))
        decoded = decoded.reshape((batch, steps) + decoded.shape[1:])
        return decoded[0] if single else decoded

    def log_likelihood(self, x, num_samples=1000, batch_size=32, max_decoded=1024, seed=0):
        """Importance-weighted estimate of log p(x) per example, in nats (A4).

        L_K = log (1/K) sum_k p(x | z_k) p(z_k) / q(z_k | x), z_k ~ q(z | x):
        L_1 is the ELBO, L_K rises to log p(x) with K. See
        `mpkeras.metrics.importance_weighted_log_likelihood` for the
        arguments; returns a float64 array, one estimate per example.
        """
        return importance_weighted_log_likelihood(
            self,
            x,
            num_samples=num_samples,
            batch_size=batch_size,
            max_decoded=max_decoded,
            seed=seed,
        )

    def get_config(self):
        base = super().get_config()
        return {
            "name": base.get("name", self.name),
            "trainable": base.get("trainable", self.trainable),
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "likelihood": self.likelihood,
            "beta": self.initial_beta,
            "kl_threshold": self.kl_threshold,
            "beta_learning_rate": self.beta_learning_rate,
            "capacity": self.capacity,
            "capacity_steps": self.capacity_steps,
            "sigma": self.sigma,
            "from_logits": self.from_logits,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("encoder", "decoder"):
            config[key] = keras.saving.deserialize_keras_object(
                config[key], custom_objects=custom_objects
            )
        # `from_logits` defaulted to True until the VAE adopted Keras's
        # convention (False). Every saved config stores it, so files keep
        # their meaning; a config without it was written for the old default.
        config.setdefault("from_logits", True)
        return cls(**config)
