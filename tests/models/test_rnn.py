"""R1, R2, R6: sequence-mode builders, stacking, the loss summed over steps, BPTT."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import mpkeras  # noqa: F401  (selects the TensorFlow backend before keras)
from mpkeras.layers import Elman
from mpkeras.losses import SummedOverSteps
from mpkeras.models.rnn import (
    CELLS,
    build_many_to_many,
    build_many_to_one,
    build_one_to_many,
    build_one_to_one,
    build_sequence_model,
)


def sequences(batch=2, steps=5, features=3, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, steps, features)).astype(np.float32)


@pytest.mark.parametrize("cell", CELLS)
def test_R2_every_mode_has_its_shapes(cell):
    x = sequences()
    cases = [
        (build_one_to_one((None, 3), 4, 2, cell=cell), x, (2, 5, 2)),
        (build_many_to_one((5, 3), 4, 2, cell=cell), x, (2, 2)),
        (build_one_to_many((3,), 6, 4, 2, cell=cell), x[:, 0], (2, 6, 2)),
        (build_many_to_many((None, 3), 4, 2, cell=cell), x, (2, 5, 2)),
        (build_many_to_many((5, 3), 4, 2, output_length=7, cell=cell), x, (2, 7, 2)),
    ]
    for model, inputs, shape in cases:
        assert model(inputs).shape == shape
        assert model.compute_output_shape(inputs.shape) == shape
    # The mode names of the dispatcher.
    model = build_sequence_model("many_to_one", (5, 3), 4, 2, cell=cell)
    assert model.output_shape == (None, 2)


def test_layer_names_and_cells():
    model = build_many_to_many((5, 3), (4, 6), 2, output_length=3, cell="gru", name="s2s")
    assert [layer.name for layer in model.layers] == [
        "s2s_input",
        "s2s_encoder0",
        "s2s_encoder1",
        "s2s_repeat",
        "s2s_decoder0",
        "s2s_decoder1",
        "s2s_output",
    ]
    assert isinstance(model.get_layer("s2s_encoder0"), keras.layers.GRU)
    model = build_one_to_one((5, 3), 4, 2, name="tag")
    assert isinstance(model.get_layer("tag_rnn0"), Elman)
    assert isinstance(build_many_to_one((5, 3), 4, 1, cell="lstm").layers[1], keras.layers.LSTM)


def test_R1_many_to_one_is_the_head_on_the_last_hidden_state():
    model = build_many_to_one((5, 3), 4, 2, output_activation="linear")
    x = sequences()
    rnn, head = model.get_layer("many_to_one_rnn0"), model.get_layer("many_to_one_output")
    h_all = keras.layers.RNN(rnn.cell, return_sequences=True)(x)
    w_y, b_y = head.get_weights()
    expected = np.asarray(h_all)[:, -1] @ w_y + b_y  # y = W_y h_T + b_y
    np.testing.assert_allclose(np.asarray(model(x)), expected, rtol=1e-5, atol=1e-6)


def test_R6_stacked_layers_feed_hidden_vectors_upward():
    model = build_one_to_one((5, 3), (4, 6), 2, name="deep")
    lower, upper = model.get_layer("deep_rnn0"), model.get_layer("deep_rnn1")
    assert lower.return_sequences and upper.return_sequences
    assert tuple(upper.input.shape) == (None, 5, 4)  # h^(1)_t replaces x_t
    x = sequences()
    h1 = lower(x)[0]
    h2 = upper(h1)[0]
    expected = model.get_layer("deep_output")(h2)
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(expected), rtol=1e-6)
    # In many-to-one only the top layer drops the sequence.
    stacked = build_many_to_one((5, 3), (4, 6, 3), 1)
    flags = [layer.return_sequences for layer in stacked.layers[1:4]]
    assert flags == [True, True, False]


def test_one_to_many_presents_the_input_at_every_step():
    model = build_one_to_many((3,), 4, 5, 2, name="caption")
    x = sequences()[:, 0]
    rnn = model.get_layer("caption_rnn0")
    h = rnn(np.repeat(x[:, None], 4, axis=1))[0]
    expected = model.get_layer("caption_output")(h)
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(expected), rtol=1e-6)


@pytest.mark.parametrize("cell", ["elman", "lstm"])
def test_encoder_decoder_starts_from_the_encoder_state(cell):
    model = build_many_to_many((5, 3), 4, 2, output_length=3, cell=cell, name="ed")
    x = sequences()
    encoder, decoder = model.get_layer("ed_encoder0"), model.get_layer("ed_decoder0")
    out = encoder(x)
    context, states = out[0], list(out[1:])
    h = decoder(np.repeat(np.asarray(context)[:, None], 3, axis=1), initial_state=states)[0]
    expected = model.get_layer("ed_output")(h)
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(expected), rtol=1e-5, atol=1e-6)


def test_token_inputs_are_embedded_and_padding_masked():
    model = build_many_to_one((None,), 4, 1, vocabulary_size=20, embedding_dim=3, cell="lstm")
    tokens = np.array([[5, 7, 2, 0, 0], [5, 7, 2, 9, 0]])
    out = np.asarray(model(tokens))
    # Trailing padding (id 0) is masked: the state after step 3 is kept.
    np.testing.assert_allclose(out[0], np.asarray(model(tokens[:1, :3]))[0], rtol=1e-5, atol=1e-6)
    assert not np.allclose(out[0], out[1])


def test_R1_summed_over_steps_is_the_sum_of_per_step_losses():
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 3, size=(4, 6))
    logits = rng.normal(size=(4, 6, 3)).astype(np.float32)
    loss = SummedOverSteps(keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    per_step = -np.take_along_axis(log_p, y_true[..., None], axis=-1)[..., 0]
    np.testing.assert_allclose(float(loss(y_true, logits)), per_step.sum(1).mean(), rtol=1e-5)
    mse = SummedOverSteps("mse")
    target = rng.normal(size=(4, 6, 2)).astype(np.float32)
    pred = rng.normal(size=(4, 6, 2)).astype(np.float32)
    np.testing.assert_allclose(
        float(mse(target, pred)), ((target - pred) ** 2).mean(-1).sum(1).mean(), rtol=1e-5
    )
    clone = SummedOverSteps.from_config(loss.get_config())
    np.testing.assert_allclose(float(clone(y_true, logits)), float(loss(y_true, logits)))
    assert keras.losses.get(keras.losses.serialize(mse)).get_config() == mse.get_config()


def test_R1_summed_over_steps_leaves_out_masked_steps_in_fit_and_evaluate():
    # Embedding(mask_zero=True) masks the padded steps (token 0) all the way to the outputs.
    tokens = np.array([[3, 1, 2, 0, 0, 0], [1, 2, 3, 1, 2, 0], [2, 2, 2, 2, 2, 2]])
    targets = np.array([[1, 0, 1, 0, 0, 0], [0, 1, 1, 0, 1, 0], [1, 1, 0, 0, 1, 1]])
    keras.utils.set_random_seed(0)
    inputs = keras.Input((6,), dtype="int32")
    hidden = Elman(4, return_sequences=True)(keras.layers.Embedding(4, 3, mask_zero=True)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(2)(hidden))
    loss = SummedOverSteps(keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.compile("sgd", loss)
    logits = np.asarray(model(tokens))
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    per_step = -np.take_along_axis(log_p, targets[..., None], axis=-1)[..., 0]
    expected = (per_step * (tokens != 0)).sum(1).mean()
    np.testing.assert_allclose(model.evaluate(tokens, targets, verbose=0), expected, rtol=1e-5)
    history = model.fit(tokens, targets, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


def numpy_bptt(x, z, w_x, w_h, b, w_y, b_y):
    """Gradients of L = sum_t (y_t - z_t)^2, y_t = W_y h_t + b_y, by hand-written BPTT."""
    steps = len(x)
    hs = [np.zeros(w_h.shape[0])]
    for t in range(steps):
        hs.append(np.tanh(w_h @ hs[-1] + w_x @ x[t] + b))
    grads = {k: 0.0 for k in ("w_x", "w_h", "b", "w_y", "b_y")}
    dh_next = np.zeros(w_h.shape[0])
    for t in range(steps, 0, -1):
        dy = 2 * (w_y @ hs[t] + b_y - z[t - 1])
        grads["w_y"] = grads["w_y"] + np.outer(dy, hs[t])
        grads["b_y"] = grads["b_y"] + dy
        da = (w_y.T @ dy + dh_next) * (1 - hs[t] ** 2)
        grads["w_x"] = grads["w_x"] + np.outer(da, x[t - 1])
        grads["w_h"] = grads["w_h"] + np.outer(da, hs[t - 1])
        grads["b"] = grads["b"] + da
        dh_next = w_h.T @ da
    return grads


def test_R1_autodiff_through_the_unrolled_graph_is_bptt():
    model = build_one_to_one((5, 3), 4, 1, dtype="float64", name="bptt")
    x = sequences(batch=1).astype(np.float64)
    z = np.random.default_rng(4).normal(size=(1, 5, 1))
    with tf.GradientTape() as tape:
        loss = SummedOverSteps("mse", dtype="float64")(z, model(x))
    kernel, recurrent, bias, w_y, b_y = model.trainable_weights
    got = tape.gradient(loss, [kernel, recurrent, bias, w_y, b_y])
    ref = numpy_bptt(
        x[0],
        z[0],
        np.asarray(kernel).T,
        np.asarray(recurrent).T,
        np.asarray(bias),
        np.asarray(w_y).T,
        np.asarray(b_y),
    )
    for g, name in zip(got, ("w_x", "w_h", "b", "w_y", "b_y")):
        expected = ref[name].T if np.ndim(ref[name]) == 2 else ref[name]
        np.testing.assert_allclose(np.asarray(g), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mode", ["one_to_one", "many_to_many_ed", "one_to_many"])
def test_keras_round_trip_and_fit_one_step(tmp_path, mode):
    x = sequences()
    if mode == "one_to_one":
        model, inputs, targets = build_one_to_one((5, 3), (4, 4), 2, seed=1), x, x[..., :2]
    elif mode == "many_to_many_ed":
        model = build_many_to_many((5, 3), 4, 3, output_length=2, cell="lstm")
        inputs, targets = x, x[:, :2]
    else:
        model, inputs, targets = build_one_to_many((3,), 5, 4, 3, cell="gru"), x[:, 0], x
    model.compile("sgd", SummedOverSteps("mse"))
    history = model.fit(inputs, targets, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    path = tmp_path / f"{mode}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(np.asarray(model(inputs)), np.asarray(loaded(inputs)))
    assert isinstance(loaded.loss, SummedOverSteps)


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"units": 0}, r"`units`, expected a positive integer or a non-empty sequence"),
        ({"units": ()}, r"`units`, expected .*\(one per stacked layer\)\. Received: units=\(\)"),
        ({"units": (4, -1)}, r"`units`.* Received: units=\(4, -1\)"),
        (
            {"cell": "rnn"},
            r"`cell`, expected one of \('elman', 'lstm', 'gru'\)\. Received: "
            r"cell='rnn'",
        ),
        ({"input_shape": (5,)}, r"`input_shape`, expected \(timesteps, features\) without"),
        ({"input_shape": (5, 3, 1)}, r"`input_shape`.* Received: input_shape=\(5, 3, 1\)"),
        ({"input_shape": (5, None)}, r"`input_shape`.*\(timesteps may be None\)"),
        (
            {"output_units": 0},
            r"`output_units`, expected a positive integer\. Received: "
            r"output_units=0",
        ),
        ({"output_length": 0}, r"`output_length`, expected a positive integer"),
    ],
)
def test_bad_arguments(kwargs, argument):
    arguments = {"input_shape": (5, 3), "units": 4, "output_units": 2, "output_length": 3}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=r"Received an invalid value for " + argument):
        build_many_to_many(**arguments)


def test_bad_mode_token_shape_and_one_to_many_shape():
    with pytest.raises(ValueError, match=r"Received an invalid value for `mode`, expected one of"):
        build_sequence_model("two_to_one", (5, 3), 4, 2)
    with pytest.raises(ValueError, match=r"`input_shape`, expected \(features,\) of the single"):
        build_one_to_many((5, 3), 4, 4, 2)
    with pytest.raises(ValueError, match=r"`input_shape`, expected \(timesteps,\) of token ids"):
        build_one_to_one((5, 3), 4, 2, vocabulary_size=10)
    with pytest.raises(ValueError, match=r"`vocabulary_size`, expected a positive integer"):
        build_one_to_one((5,), 4, 2, vocabulary_size=0)
    with pytest.raises(ValueError, match=r"`loss`, expected a per-step Keras loss"):
        SummedOverSteps(None)


def test_builders_are_exported_and_the_loss_lives_in_losses():
    import mpkeras.losses
    import mpkeras.models
    import mpkeras.models.rnn

    for name in (
        "build_one_to_one",
        "build_one_to_many",
        "build_many_to_one",
        "build_many_to_many",
        "build_sequence_model",
    ):
        assert name in mpkeras.models.__all__
        assert getattr(mpkeras.models, name) is getattr(mpkeras.models.rnn, name)
    # One class, under its old registered name; still importable from
    # mpkeras.models.rnn, which older .keras files name as its module.
    assert mpkeras.models.rnn.SummedOverSteps is mpkeras.losses.SummedOverSteps
    assert SummedOverSteps.__module__ == "mpkeras.losses"
    assert keras.saving.get_registered_name(SummedOverSteps) == "mpkeras>SummedOverSteps"
