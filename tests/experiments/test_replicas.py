"""mpkeras_experiments.replicas: an experiment's own gradients and clipping under any strategy.

explicit_vs_autodiff and gradient_clipping probe dL/dtheta with a
GradientTape outside ``fit``; under ``--strategy mirrored`` the variables are
MirroredVariables, which an eager tape in the strategy's scope cannot watch.
The probe must give the one-device gradient there too. And gradient_clipping's
clipped SGD step must be the one-device step: Keras alone clips each
replica's share of the gradient, so the step can exceed gamma T (claim R5).
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

_CHILD = textwrap.dedent(
    """
    import json
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras, numpy as np
    from mpkeras_experiments.replicas import clip_after_all_reduce, on_replicas

    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 3)).astype("float32")
    y = rng.normal(size=(10, 1)).astype("float32")

    def gradients_of(model):
        def gradients(x, y):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(keras.losses.mean_squared_error(y, model(x)))
            return tape.gradient(loss, model.trainable_weights)
        return gradients

    # Targets far from the initial fit: every replica's share of g is clipped.
    y_far = 10.0 * y
    out = {}
    start = None
    for name in ("one", "mirrored"):
        strategy = (tf.distribute.MirroredStrategy(
                        ["/cpu:0", "/cpu:1"], cross_device_ops=tf.distribute.ReductionToOneDevice())
                    if name == "mirrored" else tf.distribute.get_strategy())
        with strategy.scope():
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh"),
                                      keras.layers.Dense(1)])
            if start is None:
                start = model.get_weights()
            model.set_weights(start)
            try:
                eager = [np.asarray(g).tolist() for g in gradients_of(model)(x, y)]
            except ValueError as error:
                eager = str(error)
            out[name] = {
                "replicas": strategy.num_replicas_in_sync,
                "eager": eager,
                "on_replicas": [np.asarray(g).tolist()
                                for g in on_replicas(strategy, gradients_of(model), x, y)],
            }
        # One clipped SGD step on the whole batch, by Keras alone and with clip_after_all_reduce.
        for kind in ("keras", "patched"):
            with strategy.scope():
                model.set_weights(start)
                optimizer = keras.optimizers.SGD(1.0, global_clipnorm=0.5)
                if kind == "patched":
                    optimizer = clip_after_all_reduce(optimizer)
                model.compile(optimizer=optimizer, loss="mse")
            model.fit(x, y_far, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
            out[name][kind] = [(a - b).tolist() for a, b in zip(model.get_weights(), start)]
    print("RESULT" + json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def replicas_child():
    """The child's results: one device and two logical CPUs under MirroredStrategy."""
    env = {
        **os.environ,
        "CUDA_VISIBLE_DEVICES": "",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "KERAS_BACKEND": "tensorflow",
    }
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD], capture_output=True, text=True, env=env, timeout=300
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT")]
    assert lines, proc.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT") :])


def test_on_replicas_gives_the_one_device_gradient_under_mirrored_strategy(replicas_child):
    one, mirrored = replicas_child["one"], replicas_child["mirrored"]
    assert (one["replicas"], mirrored["replicas"]) == (1, 2)
    # What the experiments did before: an eager tape over MirroredVariables fails.
    assert isinstance(mirrored["eager"], str) and "replica context" in mirrored["eager"]
    # One device: on_replicas is the plain tape's gradient.
    for a, b in zip(one["on_replicas"], one["eager"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    # Two replicas: the whole batch's gradient, as on one device (float32 round-off).
    for a, b in zip(mirrored["on_replicas"], one["eager"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert any(np.abs(np.asarray(g)).max() > 1e-3 for g in one["eager"])  # not all zeros


def _norm(step):
    return float(np.sqrt(sum((np.asarray(s) ** 2).sum() for s in step)))


def test_clip_after_all_reduce_gives_the_one_device_clipped_step(replicas_child):
    one, mirrored = replicas_child["one"], replicas_child["mirrored"]
    # One device: g is clipped to T = 0.5 (it was longer), patched or not.
    np.testing.assert_allclose(_norm(one["keras"]), 0.5, rtol=1e-5)
    for a, b in zip(one["patched"], one["keras"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    # Two replicas, Keras alone: each share clipped, then summed: longer than gamma T.
    assert _norm(mirrored["keras"]) > 0.5 * (1 + 1e-3), _norm(mirrored["keras"])
    # With the patch: the one-device step.
    for a, b in zip(mirrored["patched"], one["keras"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
