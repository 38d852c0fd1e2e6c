"""R1: ElmanCell / Elman, h_t = act(W_h h_{t-1} + W_x x_t + b), against SimpleRNN and NumPy."""

import keras
import numpy as np
import pytest

import mpkeras  # noqa: F401  (selects the TensorFlow backend before keras)
from mpkeras.layers import Elman, ElmanCell


def sequences(batch=3, steps=6, features=5, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, steps, features)).astype(np.float32)


def numpy_elman(x, w_x, w_h, b, h0=None, activation=np.tanh):
    """The notes' recurrence with column vectors: h_t = act(W_h h_{t-1} + W_x x_t + b)."""
    batch, steps, _ = x.shape
    units = w_h.shape[0]
    h = np.zeros((batch, units)) if h0 is None else h0.astype(np.float64)
    outputs = []
    for t in range(steps):
        h = activation(h @ w_h.T + x[:, t] @ w_x.T + b)
        outputs.append(h)
    return np.stack(outputs, axis=1)


def paired(units=4, **kwargs):
    """A SimpleRNN and an Elman layer with the same (SimpleRNN's) weights."""
    reference = keras.layers.SimpleRNN(units, **kwargs)
    ours = Elman(units, **kwargs)
    x = sequences()
    reference.build(x.shape)
    ours.build(x.shape)
    ours.set_weights(reference.get_weights())
    return reference, ours


def assert_same(a, b):
    a, b = keras.tree.flatten(a), keras.tree.flatten(b)
    assert len(a) == len(b)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(np.asarray(u), np.asarray(v))


def test_contract_cell_in_rnn_symbolic_eager_config_fit():
    cell = ElmanCell(4, seed=3)
    assert cell.state_size == 4 and cell.output_size == 4
    layer = keras.layers.RNN(cell, return_sequences=True)
    inputs = keras.Input((6, 5))
    symbolic = layer(inputs)
    assert tuple(symbolic.shape) == (None, 6, 4)
    assert [w.name for w in cell.weights] == ["kernel", "recurrent_kernel", "bias"]
    assert cell.kernel.shape == (5, 4) and cell.recurrent_kernel.shape == (4, 4)
    eager = layer(sequences())
    assert eager.shape == (3, 6, 4)
    initial = cell.get_initial_state(batch_size=3)
    assert len(initial) == 1 and initial[0].shape == (3, 4)
    np.testing.assert_array_equal(np.asarray(initial[0]), 0.0)
    clone = ElmanCell.from_config(cell.get_config())
    assert clone.get_config() == cell.get_config()
    assert cell.get_config()["seed"] == 3
    model = keras.Sequential([inputs, layer, keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    history = model.fit(sequences(), np.zeros((3, 6, 1)), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_R1_matches_numpy_recurrence():
    x = sequences()
    rng = np.random.default_rng(1)
    w_x, w_h, b = rng.normal(size=(4, 5)), 0.5 * rng.normal(size=(4, 4)), rng.normal(size=4)
    h0 = rng.normal(size=(3, 4)).astype(np.float32)
    layer = Elman(4, return_sequences=True, dtype="float64")
    layer.build(x.shape)
    # Keras's row-vector weights are the transposes of the notes' matrices.
    layer.set_weights([w_x.T, w_h.T, b])
    got = np.asarray(layer(x.astype(np.float64), initial_state=h0.astype(np.float64)))
    np.testing.assert_allclose(got, numpy_elman(x, w_x, w_h, b, h0), rtol=1e-12, atol=1e-12)
    linear = Elman(4, activation="linear", use_bias=False, return_sequences=True, dtype="float64")
    linear.build(x.shape)
    assert [w.name for w in linear.weights] == ["kernel", "recurrent_kernel"]
    linear.set_weights([w_x.T, w_h.T])
    np.testing.assert_allclose(
        np.asarray(linear(x.astype(np.float64))),
        numpy_elman(x, w_x, w_h, 0.0, activation=lambda a: a),
        rtol=1e-12,
        atol=1e-12,
    )


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"return_sequences": True},
        {"return_state": True},
        {"return_sequences": True, "return_state": True, "go_backwards": True},
        {"go_backwards": True},
        {"activation": "relu", "use_bias": False},
    ],
)
def test_R1_equals_simple_rnn_with_its_weights(options):
    reference, ours = paired(**options)
    x = sequences()
    assert_same(reference(x), ours(x))


def test_equals_simple_rnn_with_mask():
    reference, ours = paired(return_sequences=True, return_state=True)
    x = sequences()
    mask = np.array([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1], [1, 0, 0, 0, 0, 0]], bool)
    assert_same(reference(x, mask=mask), ours(x, mask=mask))
    # The same through a Masking layer in a functional model.
    x[:, 4:] = 0.0
    models = []
    for layer in (reference, ours):
        inputs = keras.Input((6, 5))
        models.append(keras.Model(inputs, layer(keras.layers.Masking()(inputs))))
    assert_same(models[0](x), models[1](x))


def test_equals_simple_rnn_with_initial_state_and_cell_in_rnn():
    reference, _ = paired(return_sequences=True)
    x = sequences()
    h0 = np.random.default_rng(2).normal(size=(3, 4)).astype(np.float32)
    rnn = keras.layers.RNN(ElmanCell(4), return_sequences=True)
    rnn.build(x.shape)
    rnn.set_weights(reference.get_weights())
    assert_same(reference(x, initial_state=h0), rnn(x, initial_state=[h0]))


def test_equals_simple_rnn_stateful():
    x = sequences(batch=2)
    reference = keras.layers.SimpleRNN(4, stateful=True, return_sequences=True)
    ours = Elman(4, stateful=True, return_sequences=True)
    for layer in (reference, ours):
        layer(keras.KerasTensor((2, 6, 5)))
    ours.set_weights(reference.get_weights())
    for chunk in (x[:, :3], x[:, 3:]):  # the state carries over between calls
        assert_same(reference(chunk), ours(chunk))
    np.testing.assert_array_equal(np.asarray(reference.states[0]), np.asarray(ours.states[0]))
    reference.reset_state()
    ours.reset_state()
    assert_same(reference(x[:, :3]), ours(x[:, :3]))


def test_dropout_masks_match_simple_rnn_with_the_same_seed():
    options = {"dropout": 0.3, "recurrent_dropout": 0.4, "seed": 7, "return_sequences": True}
    reference, ours = paired(**options)
    x = sequences()
    assert_same(reference(x, training=True), ours(x, training=True))
    assert_same(reference(x, training=False), ours(x, training=False))
    # Dropout is active in training: the output differs from inference.
    assert not np.allclose(np.asarray(ours(x, training=True)), np.asarray(ours(x)))
    assert ours.get_config()["seed"] == 7


def _mask_probe(layer_class, units, rate, recurrent):
    """A linear, bias-free layer whose outputs show its dropout masks.

    Input dropout (recurrent=False): W_x = I, W_h = 0 and x_t = 1, so
    h_t = m * x_t = m. Recurrent dropout: W_x = 0, W_h = I and h_0 = 1, so
    h_t = m_h * h_{t-1} = m_h ** t. A mask fixed over the sequence keeps the
    same zero pattern at every t; a mask redrawn per step would not.
    Returns `run(training)`, giving h_1..h_T of a fresh call.
    """
    option = "recurrent_dropout" if recurrent else "dropout"
    layer = layer_class(
        units,
        activation="linear",
        use_bias=False,
        return_sequences=True,
        seed=4,
        **{option: rate},
    )
    batch, steps = 256, 5
    layer.build((batch, steps, units))
    eye, zero = np.eye(units, dtype=np.float32), np.zeros((units, units), np.float32)
    layer.set_weights([zero, eye] if recurrent else [eye, zero])
    x = np.full((batch, steps, units), 0.0 if recurrent else 1.0, np.float32)
    h0 = np.ones((batch, units), np.float32) if recurrent else None

    def run(training):
        return np.asarray(layer(x, initial_state=h0, training=training))

    return run


@pytest.mark.parametrize("recurrent", [False, True], ids=["dropout", "recurrent_dropout"])
def test_dropout_is_one_mask_per_sequence_as_in_simple_rnn(recurrent):
    rate, units = 0.3, 32
    dropped = {}
    for layer_class in (keras.layers.SimpleRNN, Elman):
        run = _mask_probe(layer_class, units, rate, recurrent)
        h = run(training=True)
        mask = h[:, 0]
        kept = mask != 0
        # Entries are 0 or 1 / (1 - rate) (inverted dropout: mean 1).
        np.testing.assert_allclose(mask[kept], 1.0 / (1.0 - rate), rtol=1e-6)
        for t in range(h.shape[1]):
            expected = mask ** (t + 1) if recurrent else mask
            np.testing.assert_allclose(h[:, t], expected, rtol=1e-5, err_msg=f"step {t}")
        # A mask of its own for each example, and a new one for each call.
        assert not np.all(mask == mask[:1])
        assert np.mean((run(training=True)[:, 0] != 0) != kept) > 0.1
        dropped[layer_class.__name__] = 1.0 - kept.mean()
    # The dropped fraction is Binomial(n, rate) / n for both: 5 standard errors.
    stderr = np.sqrt(rate * (1 - rate) / (256 * units))
    for fraction in dropped.values():
        assert abs(fraction - rate) < 5 * stderr, dropped
    assert abs(dropped["Elman"] - dropped["SimpleRNN"]) < 5 * np.sqrt(2) * stderr, dropped


@pytest.mark.parametrize("recurrent", [False, True], ids=["dropout", "recurrent_dropout"])
def test_dropout_is_off_in_inference(recurrent):
    np.testing.assert_array_equal(_mask_probe(Elman, 8, 0.5, recurrent)(training=False), 1.0)


def test_cell_dropout_in_plain_rnn_raises_in_training_and_works_in_inference():
    x = sequences()
    rnn = keras.layers.RNN(ElmanCell(4, dropout=0.2, seed=1), return_sequences=True)
    plain = keras.layers.RNN(ElmanCell(4), return_sequences=True)
    plain.build(x.shape)
    rnn.build(x.shape)
    rnn.set_weights(plain.get_weights())
    assert_same(rnn(x), plain(x))
    with pytest.raises(ValueError, match=r"mpkeras\.layers\.Elman\(units, dropout="):
        rnn(x, training=True)
    # A hand-written loop draws the masks itself, as the message says.
    cell = rnn.cell
    h = np.zeros((3, 4), np.float32)
    cell.draw_dropout_masks(x[:, 0], h)
    first, _ = cell(x[:, 0], [h], training=True)
    again, _ = cell(x[:, 0], [h], training=True)
    cell.reset_dropout_masks()
    assert_same(first, again)
    assert not np.allclose(np.asarray(first), np.asarray(plain.cell(x[:, 0], [h])[0]))


def test_elman_dropout_trains_inside_bidirectional_and_a_fit():
    inputs = keras.Input((6, 5))
    h = keras.layers.Bidirectional(Elman(4, dropout=0.2, recurrent_dropout=0.2, seed=2))(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(h))
    model.compile("sgd", "mse")
    history = model.fit(sequences(), np.zeros((3, 1)), epochs=1, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


def test_no_private_keras_import():
    import inspect

    from mpkeras.layers import recurrent

    assert "keras.src" not in inspect.getsource(recurrent)


def test_elman_layer_config_and_properties():
    layer = Elman(
        3,
        activation="relu",
        use_bias=False,
        kernel_regularizer="l2",
        dropout=0.1,
        recurrent_dropout=0.2,
        return_sequences=True,
        go_backwards=True,
        seed=11,
        name="elman_x",
    )
    config = layer.get_config()
    for key, value in {
        "units": 3,
        "activation": "relu",
        "use_bias": False,
        "dropout": 0.1,
        "recurrent_dropout": 0.2,
        "return_sequences": True,
        "go_backwards": True,
        "seed": 11,
    }.items():
        assert config[key] == value
    clone = Elman.from_config(config)
    assert clone.get_config() == config
    assert clone.units == 3 and clone.seed == 11 and clone.dropout == 0.1


@pytest.mark.parametrize("kind", ["layer", "cell"])
def test_keras_round_trip(tmp_path, kind):
    inputs = keras.Input((6, 5))
    if kind == "layer":
        h = Elman(4, return_sequences=True, dropout=0.2, seed=5, name="rnn")(inputs)
    else:
        h = keras.layers.RNN(ElmanCell(4, seed=5), return_sequences=True, name="rnn")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2)(h))
    path = tmp_path / "elman.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = sequences()
    np.testing.assert_array_equal(np.asarray(model(x)), np.asarray(loaded(x)))
    cell = loaded.get_layer("rnn").cell
    assert isinstance(cell, ElmanCell) and cell.seed == 5


@pytest.mark.parametrize("units", [0, -2, 2.5, True, None])
def test_bad_units(units):
    with pytest.raises(ValueError, match="`units`"):
        ElmanCell(units)
    with pytest.raises(ValueError, match="`units`"):
        Elman(units)


@pytest.mark.parametrize("name", ["dropout", "recurrent_dropout"])
def test_bad_dropout(name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        ElmanCell(2, **{name: 1.5})


def test_bad_rank():
    with pytest.raises(ValueError, match="`sequences`"):
        Elman(3)(np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match="rank 3"):
        keras.layers.RNN(ElmanCell(3))(np.zeros((2, 5), np.float32))


def test_bad_initial_state():
    x = sequences()
    with pytest.raises(ValueError, match="`initial_state`"):
        Elman(4)(x, initial_state=np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match="`initial_state`"):
        keras.layers.RNN(ElmanCell(4))(x, initial_state=[np.zeros((3, 2), np.float32)])
