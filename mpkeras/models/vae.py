"""The variational autoencoder, the beta-VAE and the constrained beta-VAE (claims A4-A6)."""

import math
import numbers

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from mpkeras.layers.sampling import Sampling
from mpkeras.losses import bernoulli_nll, gaussian_kl, gaussian_nll

LIKELIHOODS = ("bernoulli", "gaussian")
_LOG_2PI = math.log(2.0 * math.pi)


def _check_number(value, name, minimum=0.0, strict=False, allow_none=False):
    if value is None and allow_none:
        return None
    ok = (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and np.isfinite(value)
        and (value > minimum if strict else value >= minimum)
    )
    if not ok:
        what = "a positive number" if strict else "a non-negative number"
        raise ValueError(
            f"Received an invalid value for `{name}`, expected {what}. "
            f"Received: {name}={value!r}"
        )
    return float(value)


def _static_shape(tensor):
    shape = getattr(tensor, "shape", None)
    return None if shape is None else tuple(shape)


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
    the evidence lower bound

        ELBO(x) = E_q[log p(x | z)] - KL(q(z | x) || N(0, I))   <=  log p(x)

    with one sample of z per example, i.e. minimises
    `reconstruction + beta * kl` where

        reconstruction = -log p(x | z)  SUMMED over pixels (all event axes),
        kl = 0.5 * sum_j (sigma_j^2 + mu_j^2 - 1 - log sigma_j^2)
             SUMMED over latent dimensions,

    both then AVERAGED over the batch. Summing (not averaging) over pixels is
    what makes the two terms a log-likelihood and a KL in the same unit,
    nats per example; averaging over pixels (as `keras.losses` do) silently
    multiplies beta by the number of pixels -- the classic pitfall.

    Under `tf.distribute` every replica divides its per-example sums by the
    GLOBAL batch size (the sum of the replicas' batch sizes) and the
    optimizer sums the replicas' gradients, so a multi-replica step equals
    the one-device step on the whole batch.

    Three objectives, one KL weight (claim A6):

    - `beta=1`: the VAE; `loss` is the negative ELBO.
    - `beta != 1`: the beta-VAE (Higgins et al. 2017): loss = rec + beta kl.
    - `kl_threshold=delta`: the constrained form min rec s.t. KL <= delta.
      Its Lagrangian is L = rec + beta (KL - delta) with beta >= 0. The
      network takes a gradient step on L and beta takes a step of dual
      ascent after every batch,

          beta <- max(0, beta + beta_learning_rate * (KL - delta)),

      so beta grows while KL > delta and shrinks while KL < delta, and KL
      settles at delta. beta is a non-trainable weight of the model: it is
      saved with `.keras` files and restored by `BackupAndRestore`.
    - `capacity=C_max, capacity_steps=T` (Burgess et al. 2018): loss =
      rec + beta |KL - C(t)| with C(t) = C_max * min(1, t / T) rising
      linearly with the training step t (a non-trainable counter, also
      checkpointed).

    Likelihoods p(x | z):

    - "bernoulli": the decoder outputs logits (or probabilities with
      `from_logits=False`); -log p(x | z) is the binary cross-entropy summed
      over pixels. Targets should be in [0, 1] (binarised data gives a true
      likelihood).
    - "gaussian": the decoder outputs the mean; the standard deviation is the
      fixed `sigma`; -log p(x | z) = sum (x - mean)^2 / (2 sigma^2) +
      0.5 log(2 pi sigma^2).

    Data: `fit`/`evaluate` take `x`, or `(x, y)` as `mpkeras.data.load`
    yields. The reconstruction target is `y` when it has the shape of `x`
    (reconstruction, or a denoising VAE), else `x` (e.g. task="factors",
    whose y are factor labels).

    Logs (train and validation): `loss` (the objective above), `reconstruction`,
    `kl`, `beta` (the weight used in the step), `elbo` = -(reconstruction +
    kl), all in nats per example.

    XLA: `compile(jit_compile="auto")` (the default) resolves to no XLA on a
    CPU-only machine, the faster choice here: benchmarks/bench_vae.py
    measured `jit_compile=True` at 0.32-0.43x the default's train-step
    throughput for the 64x64 conv VAE on the 2-core development CPU.

    Args:
        encoder: a Keras model x -> [mean, log_var] (two outputs of shape
            (batch, latent_dim)), or x -> h of shape (batch, 2 * latent_dim)
            split into mean = h[:, :latent_dim] and log_var = h[:, latent_dim:].
        decoder: a Keras model z (batch, latent_dim) -> the parameters of
            p(x | z), shaped like x.
        likelihood: "bernoulli" or "gaussian".
        beta: the KL weight >= 0 (the initial multiplier when
            `kl_threshold` is set).
        kl_threshold: delta >= 0 in nats, or None; turns on the constrained
            form with dual ascent on beta.
        beta_learning_rate: the dual-ascent step size (> 0).
        capacity: C_max >= 0 in nats, or None; turns on the capacity schedule.
        capacity_steps: steps over which C rises to C_max (positive int).
        sigma: the Gaussian likelihood's standard deviation (> 0).
        from_logits: whether a Bernoulli decoder outputs logits.
        seed: seed of the `Sampling` layer.
        **kwargs: base `keras.Model` arguments (`name`, ...).

    Call arguments:
        inputs: a batch x. Returns the mean of p(x | z) at z = mu(x) (the
            posterior mean, so `predict` is deterministic).

    Example:

    >>> vae = VAE(encoder, decoder, likelihood="bernoulli", beta=4.0)
    >>> vae.compile(optimizer="adam")
    >>> vae.fit(train, validation_data=val, epochs=10)
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
        from_logits=True,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if likelihood not in LIKELIHOODS:
            raise ValueError(
                "Received an invalid value for `likelihood`, expected one of "
                f"{LIKELIHOODS}. Received: likelihood={likelihood!r}"
            )
        if not isinstance(encoder, keras.layers.Layer):
            raise ValueError(
                "Received an invalid value for `encoder`, expected a Keras "
                f"model or layer. Received: encoder={encoder!r}"
            )
        if not isinstance(decoder, keras.layers.Layer):
            raise ValueError(
                "Received an invalid value for `decoder`, expected a Keras "
                f"model or layer. Received: decoder={decoder!r}"
            )
        self.likelihood = likelihood
        self.initial_beta = _check_number(beta, "beta")
        self.kl_threshold = _check_number(kl_threshold, "kl_threshold", allow_none=True)
        self.beta_learning_rate = _check_number(
            beta_learning_rate, "beta_learning_rate", strict=True
        )
        self.capacity = _check_number(capacity, "capacity", allow_none=True)
        if isinstance(capacity_steps, bool) or not isinstance(
            capacity_steps, numbers.Integral
        ) or capacity_steps <= 0:
            raise ValueError(
                "Received an invalid value for `capacity_steps`, expected a "
                f"positive integer. Received: capacity_steps={capacity_steps!r}"
            )
        self.capacity_steps = int(capacity_steps)
        if self.capacity is not None and self.kl_threshold is not None:
            raise ValueError(
                "Pass either `kl_threshold` (dual ascent on beta) or `capacity` "
                f"(a KL target schedule), not both. Received: kl_threshold="
                f"{kl_threshold}, capacity={capacity}"
            )
        self.sigma = _check_number(sigma, "sigma", strict=True)
        self.from_logits = bool(from_logits)
        self.seed = seed
        self.encoder = encoder
        self.decoder = decoder
        self.latent_dim = self._check_encoder_decoder(encoder, decoder)
        self.sampling = Sampling(seed=seed, name="sampling")

        # beta is a weight, not a Python float: the dual ascent updates it,
        # and `.keras` files / BackupAndRestore checkpoints carry it (A6).
        self.beta = self.add_weight(
            name="beta",
            shape=(),
            initializer=keras.initializers.Constant(self.initial_beta),
            trainable=False,
            aggregation="only_first_replica",
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

    # ------------------------------------------------------------------
    # Construction checks

    @staticmethod
    def _check_encoder_decoder(encoder, decoder):
        """The latent size, checked between encoder and decoder when known."""
        latent = None
        dec_inputs = getattr(decoder, "inputs", None)
        if dec_inputs:
            shape = _static_shape(dec_inputs[0])
            if shape is not None and len(shape) >= 2:
                latent = shape[-1]
        enc_outputs = getattr(encoder, "outputs", None)
        if not enc_outputs:
            return latent  # A subclassed encoder: checked at the first call.
        return VAE._check_encoder_output_shapes(
            [_static_shape(o) for o in enc_outputs], latent
        )

    @staticmethod
    def _check_encoder_output_shapes(shapes, latent):
        if len(shapes) == 2:
            if shapes[0] != shapes[1]:
                raise ValueError(
                    "Received an invalid value for `encoder`: its outputs "
                    "[mean, log_var] must have the same shape. Received "
                    f"output shapes {shapes}"
                )
            size = shapes[0][-1]
        elif len(shapes) == 1:
            width = shapes[0][-1]
            if width is not None and width % 2:
                raise ValueError(
                    "Received an invalid value for `encoder`: a single output "
                    "must hold [mean, log_var] side by side, so its size must "
                    f"be even (2 * latent_dim). Received output shape {shapes[0]}"
                )
            size = None if width is None else width // 2
        else:
            raise ValueError(
                "Received an invalid value for `encoder`: it must output "
                "[mean, log_var] (two tensors) or one tensor of size "
                f"2 * latent_dim. Received {len(shapes)} outputs"
            )
        if latent is not None and size is not None and latent != size:
            raise ValueError(
                "Received an invalid value for `encoder`: its outputs do not "
                "split into mean and log_var of the decoder's latent size. "
                f"Encoder output shapes {shapes}, decoder latent_dim={latent}"
            )
        return size if size is not None else latent

    # ------------------------------------------------------------------
    # Pieces

    def encode(self, x, training=False):
        """The mean and log-variance of q(z | x)."""
        outputs = self.encoder(x, training=training)
        if isinstance(outputs, (list, tuple)):
            shapes = [tuple(o.shape) for o in outputs]
            self._check_encoder_output_shapes(shapes, self.latent_dim)
            mean, log_var = outputs
        else:
            self._check_encoder_output_shapes([tuple(outputs.shape)], self.latent_dim)
            mean, log_var = ops.split(outputs, 2, axis=-1)
        return mean, log_var

    def decode(self, z, training=False):
        """The mean of p(x | z): probabilities (Bernoulli) or means (Gaussian)."""
        return self._mean_of(self.decoder(z, training=training))

    def _mean_of(self, params):
        if self.likelihood == "bernoulli" and self.from_logits:
            return ops.sigmoid(params)
        return params

    def _negative_log_likelihood(self, target, params):
        """-log p(target | params) per example, summed over the event axes."""
        params = ops.cast(params, "float32")
        target = ops.cast(target, "float32")
        if self.likelihood == "bernoulli":
            return bernoulli_nll(
                target, params, from_logits=self.from_logits, reduction="none"
            )
        return gaussian_nll(target, params, sigma=self.sigma, reduction="none")

    def call(self, inputs, training=False):
        mean, _ = self.encode(inputs, training=training)
        return self.decode(mean, training=training)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    @property
    def metrics(self):
        return [
            self.loss_tracker,
            self.reconstruction_tracker,
            self.kl_tracker,
            self.beta_tracker,
            self.elbo_tracker,
        ]

    # ------------------------------------------------------------------
    # Training

    @staticmethod
    def _unpack(data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        if y is not None and _static_shape(y) == _static_shape(x):
            return x, y
        return x, x

    def _capacity_now(self):
        step = ops.cast(self.train_steps, "float32")
        fraction = ops.minimum(1.0, step / float(self.capacity_steps))
        return self.capacity * fraction

    def _terms(self, x, target, training):
        """Per-replica shares of the objective (for gradients) and local logs."""
        mean, log_var = self.encode(x, training=training)
        z = self.sampling([mean, log_var])
        params = self.decoder(z, training=training)
        rec = self._negative_log_likelihood(target, params)
        kl = gaussian_kl(ops.cast(mean, "float32"), ops.cast(log_var, "float32"),
                         reduction="none")
        local_n = ops.cast(ops.shape(rec)[0], "float32")
        global_n = _global_sum(local_n)
        # Per-example sums / GLOBAL batch: summed over replicas (as the
        # optimizer sums gradients) this is the batch mean of one device.
        rec_share = ops.sum(rec) / global_n
        kl_share = ops.sum(kl) / global_n
        kl_global = ops.stop_gradient(_global_sum(kl_share))
        beta = ops.cast(self.beta, "float32")
        rec_local = ops.sum(rec) / local_n
        kl_local = ops.sum(kl) / local_n
        if self.capacity is not None:
            target_kl = self._capacity_now()
            sign = ops.sign(kl_global - target_kl)
            objective = rec_share + beta * sign * kl_share
            logged = rec_local + beta * ops.abs(kl_global - target_kl)
        elif self.kl_threshold is not None:
            objective = rec_share + beta * (kl_share - self.kl_threshold * local_n / global_n)
            logged = rec_local + beta * (kl_local - self.kl_threshold)
        else:
            objective = rec_share + beta * kl_share
            logged = rec_local + beta * kl_local
        logs = {
            "loss": logged,
            "reconstruction": rec_local,
            "kl": kl_local,
            "beta": beta,
            "elbo": -(rec_local + kl_local),
        }
        return objective, kl_global, local_n, logs

    def _update_trackers(self, logs, local_n):
        for tracker in self.metrics:
            tracker.update_state(logs[tracker.name], sample_weight=local_n)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        x, target = self._unpack(data)
        with tf.GradientTape() as tape:
            objective, kl_global, local_n, logs = self._terms(x, target, True)
            scaled = self.optimizer.scale_loss(objective)
        weights = self.trainable_weights
        grads = tape.gradient(scaled, weights)
        self.optimizer.apply_gradients(zip(grads, weights))
        if self.kl_threshold is not None:
            # Dual ascent on the Lagrangian's multiplier (A6); every replica
            # computes the same value from the all-reduced KL.
            new_beta = ops.maximum(
                0.0,
                ops.cast(self.beta, "float32")
                + self.beta_learning_rate * (kl_global - self.kl_threshold),
            )
            self.beta.assign(ops.cast(new_beta, self.beta.dtype))
        self.train_steps.assign_add(1)
        return self._update_trackers(logs, local_n)

    def test_step(self, data):
        x, target = self._unpack(data)
        _, _, local_n, logs = self._terms(x, target, False)
        return self._update_trackers(logs, local_n)

    # ------------------------------------------------------------------
    # Using a trained model

    def _latent_dim_or_build(self, x=None):
        if self.latent_dim is None and x is not None:
            mean, _ = self.encode(x[:1])
            self.latent_dim = int(mean.shape[-1])
        if self.latent_dim is None:
            raise ValueError(
                "The latent size is unknown: call the model on data first."
            )
        return self.latent_dim

    def sample(self, n, seed=None):
        """n draws of the mean of p(x | z) with z ~ N(0, I) from the prior (A5)."""
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n <= 0:
            raise ValueError(
                f"Received an invalid value for `n`, expected a positive "
                f"integer. Received: n={n!r}"
            )
        d = self._latent_dim_or_build()
        z = keras.random.normal((int(n), d), seed=seed)
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
        if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 2:
            raise ValueError(
                "Received an invalid value for `steps`, expected an integer "
                f">= 2. Received: steps={steps!r}"
            )
        x1 = np.asarray(x1, "float32")
        x2 = np.asarray(x2, "float32")
        if x1.shape != x2.shape:
            raise ValueError(
                "`x1` and `x2` must have the same shape. Received: "
                f"x1.shape={x1.shape}, x2.shape={x2.shape}"
            )
        single = self._is_single_example(x1)
        if single:
            x1, x2 = x1[None], x2[None]
        m1, _ = self.encode(x1)
        m2, _ = self.encode(x2)
        t = ops.reshape(ops.linspace(0.0, 1.0, steps), (1, steps, 1))
        z = (1.0 - t) * m1[:, None, :] + t * m2[:, None, :]
        batch = x1.shape[0]
        decoded = ops.convert_to_numpy(
            self.decode(ops.reshape(z, (batch * steps, -1)))
        )
        decoded = decoded.reshape((batch, steps) + decoded.shape[1:])
        return decoded[0] if single else decoded

    def _is_single_example(self, x):
        inputs = getattr(self.encoder, "inputs", None)
        if inputs:
            return x.ndim == len(inputs[0].shape) - 1
        return False

    def log_likelihood(
        self, x, num_samples=1000, batch_size=32, max_decoded=1024, seed=0
    ):
        """Importance-weighted estimate of log p(x) per example, in nats (A4).

        With K samples z_k ~ q(z | x) (Burda et al. 2016),

            log p(x) >= L_K = log (1/K) sum_k p(x | z_k) p(z_k) / q(z_k | x),

        L_1 is the ELBO and L_K rises to log p(x) as K grows. The sum is a
        logsumexp of the log-weights. Examples go through `batch_size` at a
        time and the K samples through chunks of at most `max_decoded`
        decoded images, so K = 1000 fits in memory. Sampling is stateless
        and keyed by `seed`: the same model, data and seed give the same
        numbers.

        Args:
            x: an array of examples, or a `tf.data.Dataset` of x or (x, y).
            num_samples: K >= 1.
            batch_size: examples per pass.
            max_decoded: examples x samples decoded at once.
            seed: integer seed of the samples.

        Returns:
            A NumPy float64 array of log p(x) estimates, one per example.
        """
        for name, value in (
            ("num_samples", num_samples),
            ("batch_size", batch_size),
            ("max_decoded", max_decoded),
        ):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
                raise ValueError(
                    f"Received an invalid value for `{name}`, expected a "
                    f"positive integer. Received: {name}={value!r}"
                )
        if isinstance(x, tf.data.Dataset):
            batches = (self._unpack(element) for element in x)
        else:
            x = np.asarray(x, "float32")
            batches = (
                (x[i : i + batch_size], x[i : i + batch_size])
                for i in range(0, len(x), batch_size)
            )
        results = []
        for b, (xb, tb) in enumerate(batches):
            xb = tf.convert_to_tensor(xb, tf.float32)
            tb = tf.convert_to_tensor(tb, tf.float32)
            n = int(xb.shape[0])
            chunk = max(1, min(num_samples, max_decoded // max(n, 1)))
            mean, log_var = self._encode_fn(xb)
            weights = []
            done = 0
            c = 0
            while done < num_samples:
                s = min(chunk, num_samples - done)
                key = tf.constant([seed, b * 1_000_003 + c], tf.int64)
                weights.append(
                    self._log_weights_fn(tb, mean, log_var, key, tf.constant(s, tf.int32))
                )
                done += s
                c += 1
            log_w = tf.concat(weights, axis=0)  # (K, n)
            ll = tf.reduce_logsumexp(tf.cast(log_w, tf.float64), axis=0) - math.log(
                num_samples
            )
            results.append(ll.numpy())
        if not results:
            return np.zeros((0,), np.float64)
        return np.concatenate(results)

    @property
    def _encode_fn(self):
        if getattr(self, "_encode_compiled", None) is None:
            self._encode_compiled = tf.function(
                lambda x: self.encode(x), reduce_retracing=True, autograph=False
            )
        return self._encode_compiled

    @property
    def _log_weights_fn(self):
        if getattr(self, "_log_weights_compiled", None) is None:

            def log_weights(target, mean, log_var, key, s):
                mean = tf.cast(mean, tf.float32)
                log_var = tf.cast(log_var, tf.float32)
                n = tf.shape(mean)[0]
                eps = tf.random.stateless_normal(
                    tf.concat([[s], tf.shape(mean)], 0), seed=key
                )
                z = mean[None] + tf.exp(0.5 * log_var)[None] * eps
                log_q = -0.5 * tf.reduce_sum(
                    tf.square(eps) + _LOG_2PI + log_var[None], axis=-1
                )
                log_p = -0.5 * tf.reduce_sum(tf.square(z) + _LOG_2PI, axis=-1)
                params = self.decoder(
                    tf.reshape(z, [s * n, -1]), training=False
                )
                tiled = tf.reshape(
                    tf.tile(target[None], tf.concat([[s], tf.ones_like(tf.shape(target))], 0)),
                    tf.concat([[s * n], tf.shape(target)[1:]], 0),
                )
                log_px = -self._negative_log_likelihood(tiled, params)
                return tf.reshape(log_px, [s, n]) + log_p - log_q

            # No tensor-dependent Python control flow: autograph is not needed.
            self._log_weights_compiled = tf.function(
                log_weights, reduce_retracing=True, autograph=False
            )
        return self._log_weights_compiled

    # ------------------------------------------------------------------
    # Serialisation

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
        return cls(**config)
