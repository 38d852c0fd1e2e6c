"""Rosenblatt's perceptron as a Keras model trained by its own rule (claim N1)."""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from mpkeras import validation

_LABEL_MESSAGE = (
    "Perceptron labels must be 0 or 1 (the step activation 1{w^T x + b > 0} "
    "outputs 0/1, and the rule theta <- theta + eta (y - yhat) x assumes it). "
    "Map labels in {-1, 1} with y = (y + 1) / 2."
)


def _looks_like_array(y):
    return isinstance(y, (np.ndarray, list, tuple, tf.Tensor)) or hasattr(y, "__array__")


def _check_labels_eagerly(y):
    """Raise ValueError now if array-like labels are not all in {0, 1}."""
    if y is None or not _looks_like_array(y):
        return
    values = np.unique(np.asarray(y))
    bad = values[(values != 0) & (values != 1)]
    if bad.size:
        raise ValueError(f"{_LABEL_MESSAGE} Received labels with values {values[:10].tolist()}")


@keras.saving.register_keras_serializable(package="mpkeras")
class Perceptron(keras.Model):
    """Single-layer perceptron trained by Rosenblatt's rule, not by gradients.

    The notes' perceptron (section 1.1, claim N1) classifies with the step
    activation and learns from its mistakes:

        yhat = 1{w^T x + b > 0}
        theta <- theta + eta (y - yhat) x        for theta = (w, b), x = (x, 1)

    The residual y - yhat is 0 on correct examples, so only mistakes move the
    weights. If the data are linearly separable the rule converges after
    finitely many updates; starting from zero weights, Novikoff's theorem
    bounds their number by (R / gamma)^2, where R = max ||(x_i, 1)|| and gamma
    is the margin of a unit-norm separator (w*, b*) of the augmented points.

    `train_step` visits the examples of each batch *in order* and applies the
    rule after every example, so `fit` runs exactly the classic online
    algorithm whatever the batch size: a batch is only a unit of work, not an
    average. No optimizer and no loss are involved; `compile()` takes neither.

    Training logs:
        accuracy: the online ("progressive") accuracy: each example is
            classified by the weights current when it is visited, *before*
            its own update. Over an epoch it is 1 - mistakes / examples, so an
            epoch with accuracy 1.0 made no update: the perceptron has
            converged.
        updates: total number of mistake-driven updates since training began.
            It lives in a non-trainable weight, so it survives `.keras`
            save/load and `keras.callbacks.BackupAndRestore`.
    Evaluation logs `accuracy` of the current weights. Metrics passed to
    `compile(metrics=...)` see the same predictions as `accuracy`.

    Labels must be 0 or 1 (shape `(batch,)` or `(batch, 1)`); anything else
    raises ValueError when `fit`/`evaluate` get arrays. With a `tf.data`
    dataset the check runs inside the graph and fails with
    `tf.errors.InvalidArgumentError` carrying the same message (ValueError
    when `run_eagerly=True`).

    Under a distribution strategy with several replicas each replica runs the
    rule on its own shard from the same starting weights and the weight
    changes are summed (a parallel perceptron); with one replica, the
    default, it is exactly the sequential algorithm.

    Args:
        learning_rate: the step size eta > 0. Starting from zero weights it
            only scales the weights (the predictions and the updates are the
            same for every eta); it matters for non-zero initialisations.
        use_bias: whether to learn b (equivalently, augment x with a 1).
        kernel_initializer: initializer of w, default zeros (the classic
            start, which Novikoff's bound assumes).
        bias_initializer: initializer of b, default zeros.
        **kwargs: base `keras.Model` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: a float tensor of shape `(batch, features)`.

    Returns from `call` / `predict`:
        The 0/1 predictions 1{w^T x + b > 0} as floats, shape `(batch, 1)`.
        `decision_function(x)` gives the raw scores w^T x + b instead (for
        plotting the decision boundary {x : w^T x + b = 0}).

    Example:

    >>> model = Perceptron()
    >>> model.compile()
    >>> x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> history = model.fit(x, np.array([0, 0, 0, 1]), epochs=10, verbose=0)
    >>> model.predict(x, verbose=0).ravel()  # AND is linearly separable
    array([0., 0., 0., 1.], dtype=float32)
    """

    def __init__(
        self,
        learning_rate=1.0,
        use_bias=True,
        kernel_initializer="zeros",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.learning_rate = validation.positive_number(learning_rate, "learning_rate")
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.accuracy_tracker = keras.metrics.BinaryAccuracy(name="accuracy")
        # XLA drops the in-graph label assertion; the loop is sequential
        # anyway, so there is nothing to gain from jit_compile="auto".
        self.supports_jit = False

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise ValueError(
                "Perceptron expects inputs of shape (batch, features) with a "
                f"known number of features. Received: input_shape={input_shape}"
            )
        features = int(input_shape[-1])
        # Aggregation "sum": under a multi-replica strategy the replicas'
        # weight changes add up (see the class docstring).
        self.kernel = self.add_weight(
            name="kernel",
            shape=(features, 1),
            initializer=self.kernel_initializer,
            aggregation="sum",
        )
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(1,),
                initializer=self.bias_initializer,
                aggregation="sum",
            )
        else:
            self.bias = None
        self.updates = self.add_weight(
            name="updates",
            shape=(),
            initializer="zeros",
            dtype="int64",
            trainable=False,
            aggregation="sum",
        )
        self.input_spec = keras.InputSpec(ndim=2, axes={-1: features})

    def _check_width(self, x):
        # Static shapes only: a None width (e.g. a dataset without a known
        # feature dimension) is refused too rather than left to fail inside
        # the matmul at run time.
        features = self.kernel.shape[0]
        shape = tuple(x.shape)
        if len(shape) != 2 or shape[-1] != features:
            raise ValueError(
                f"Perceptron '{self.name}' was built for inputs of shape "
                f"(batch, {features}). Received: inputs with shape {shape}"
            )

    def _check_array_width(self, x):
        # Keras' predict relaxes traced shapes to (None, None) on a second
        # input shape, which would hide the offending width in the message.
        if self.built and x is not None and _looks_like_array(x):
            shape = np.shape(x)
            if len(shape) != 2 or shape[-1] != self.kernel.shape[0]:
                raise ValueError(
                    f"Perceptron '{self.name}' was built for inputs of shape "
                    f"(batch, {self.kernel.shape[0]}). Received: inputs with "
                    f"shape {shape}"
                )

    def _scores(self, x):
        scores = ops.matmul(x, ops.cast(self.kernel, x.dtype))
        if self.use_bias:
            scores = scores + ops.cast(self.bias, x.dtype)
        return scores

    def call(self, inputs):
        x = ops.cast(inputs, self.compute_dtype)
        self._check_width(x)
        # Step activation of the notes: 1{x > 0}, so a score of exactly 0
        # predicts 0 (and the zero-initialised perceptron errs on y = 1).
        return ops.cast(ops.greater(self._scores(x), 0), self.compute_dtype)

    def decision_function(self, x):
        """Raw scores w^T x + b, shape `(batch, 1)`, as a tensor.

        The decision boundary is the zero level set of this function.
        """
        x = ops.convert_to_tensor(x)
        if not self.built:
            self.build(x.shape)
        x = ops.cast(x, self.compute_dtype)
        self._check_width(x)
        return self._scores(x)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)

    @property
    def metrics(self):
        metrics = [self.accuracy_tracker]
        if self._compile_metrics is not None:
            metrics.append(self._compile_metrics)
        return metrics

    def compile(self, optimizer=None, loss=None, **kwargs):
        """Configure the model for `fit`; takes no optimizer and no loss.

        The weights change only through Rosenblatt's rule in `train_step`, so
        an optimizer or a loss would be silently ignored: both are refused.
        `metrics`, `run_eagerly`, `steps_per_execution`, ... work as usual.
        """
        if optimizer is not None or loss is not None:
            raise ValueError(
                "Perceptron learns by Rosenblatt's rule in `train_step`; it "
                "takes no optimizer and no loss. Call `compile()` without "
                f"them. Received: optimizer={optimizer!r}, loss={loss!r}"
            )
        super().compile(optimizer=None, loss=None, **kwargs)

    def compile_from_config(self, config):
        # `compile` is overridden, so Keras would skip compiling on load
        # without this; the saved config has optimizer=None, loss=None.
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)

    def fit(self, x=None, y=None, *args, **kwargs):
        # Array labels can be checked before any graph is built, which gives
        # a plain ValueError instead of an error from inside tf.function.
        self._check_array_width(x)
        _check_labels_eagerly(y)
        validation_data = kwargs.get("validation_data")
        if isinstance(validation_data, (list, tuple)) and len(validation_data) in (2, 3):
            _check_labels_eagerly(validation_data[1])
        return super().fit(x, y, *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        self._check_array_width(x)
        _check_labels_eagerly(y)
        return super().evaluate(x, y, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        self._check_array_width(x)
        return super().predict(x, *args, **kwargs)

    def _prepare(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if sample_weight is not None:
            raise ValueError(
                "Perceptron does not support `sample_weight` (the rule treats every mistake alike)."
            )
        if y is None:
            raise ValueError("Perceptron needs labels y in {0, 1}.")
        x = ops.cast(x, self.compute_dtype)
        if not self.built:
            # Without a distribution strategy Keras defers building to the
            # first trace of the train/test function.
            self.build(x.shape)
        self._check_width(x)
        y = ops.reshape(ops.cast(y, self.compute_dtype), (-1,))
        valid = ops.all(ops.logical_or(ops.equal(y, 0), ops.equal(y, 1)))
        if tf.executing_eagerly():
            if not bool(valid):
                _check_labels_eagerly(ops.convert_to_numpy(y))
        else:
            # Route y through the assertion: automatic control dependencies
            # alone do not order it before the variable updates.
            check = tf.debugging.Assert(valid, [_LABEL_MESSAGE])
            with tf.control_dependencies([check]):
                y = tf.identity(y)
        return x, y

    def train_step(self, data):
        x, y = self._prepare(data)
        eta = ops.cast(self.learning_rate, x.dtype)
        w_start = ops.cast(self.kernel, x.dtype)[:, 0]
        b_start = ops.cast(self.bias, x.dtype)[0] if self.use_bias else ops.zeros((), x.dtype)

        def visit(state, example):
            w, b, _ = state
            x_i, y_i = example
            y_hat = ops.cast(ops.greater(ops.sum(x_i * w) + b, 0), x.dtype)
            residual = y_i - y_hat  # 0 unless this example is a mistake
            w = w + eta * residual * x_i
            if self.use_bias:
                b = b + eta * residual
            return w, b, y_hat

        # One scan step per example, in order: the online rule (claim N1).
        # tf.scan (not keras.ops.scan) because train_step is TF-specific and
        # tf.scan stacks the per-step predictions for us.
        w_all, b_all, y_online = tf.scan(
            visit, (x, y), initializer=(w_start, b_start, ops.zeros((), x.dtype))
        )
        w_end, b_end = w_all[-1], b_all[-1]

        if self.trainable:
            mistakes = ops.sum(ops.cast(ops.not_equal(y_online, y), "int64"))
            replica = tf.distribute.get_replica_context()
            if replica is not None and replica.num_replicas_in_sync > 1:
                # On the tf.Variable itself: keras' assign_add is
                # assign(self + delta), which "sum" aggregation would turn
                # into a sum of whole weights; tf's sums only the deltas.
                self.kernel.value.assign_add(ops.expand_dims(w_end - w_start, 1))
                if self.use_bias:
                    self.bias.value.assign_add(ops.expand_dims(b_end - b_start, 0))
                self.updates.value.assign_add(mistakes)
            else:
                # assign, not assign_add: w + (w' - w) can differ from w' in
                # the last bit, and the sequential algorithm must be exact.
                self.kernel.assign(ops.expand_dims(w_end, 1))
                if self.use_bias:
                    self.bias.assign(ops.expand_dims(b_end, 0))
                self.updates.assign_add(mistakes)

        logs = self._update_metrics(y, y_online)
        logs["updates"] = ops.convert_to_tensor(self.updates)
        return logs

    def test_step(self, data):
        x, y = self._prepare(data)
        return self._update_metrics(y, self(x, training=False))

    def _update_metrics(self, y, y_pred):
        y = ops.expand_dims(y, 1)
        y_pred = ops.reshape(y_pred, (-1, 1))
        self.accuracy_tracker.update_state(y, y_pred)
        if self._compile_metrics is not None:
            self._compile_metrics.update_state(y, y_pred)
        logs = {}
        for metric in self.metrics:
            result = metric.result()
            if isinstance(result, dict):
                logs.update(result)
            else:
                logs[metric.name] = result
        return logs

    def get_config(self):
        return {
            **super().get_config(),
            "learning_rate": self.learning_rate,
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }
