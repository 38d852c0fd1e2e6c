"""build_mlp, and N6: without non-linearities an MLP is one affine map."""

import os

import keras
import numpy as np
import pytest

import mpkeras  # noqa: F401  (selects the TensorFlow backend before keras)
from mpkeras.models import build_mlp, compose_affine


def test_shapes_and_layer_names():
    model = build_mlp((5,), hidden=(8, 4), output_units=3, output="softmax", name="net")
    assert [layer.name for layer in model.layers] == [
        "net_input",
        "net_hidden0",
        "net_hidden1",
        "net_output",
    ]
    assert model.name == "net"
    assert tuple(model.output_shape) == (None, 3)
    x = np.random.default_rng(0).normal(size=(7, 5)).astype(np.float32)
    y = np.asarray(model(x))
    assert y.shape == (7, 3)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)
    assert model.get_layer("net_hidden0").activation is keras.activations.relu
    assert [model.get_layer(f"net_hidden{i}").units for i in range(2)] == [8, 4]


def test_flattens_image_inputs_and_output_kinds():
    model = build_mlp((4, 4, 1), hidden=3, output="sigmoid")
    assert [layer.name for layer in model.layers] == [
        "mlp_input",
        "mlp_flatten",
        "mlp_hidden0",
        "mlp_output",
    ]
    y = np.asarray(model(np.ones((2, 4, 4, 1), np.float32)))
    assert y.shape == (2, 1) and np.all((y > 0) & (y < 1))
    linear = build_mlp(3, hidden=(), output="linear", output_units=2)
    assert [layer.name for layer in linear.layers] == ["mlp_input", "mlp_output"]
    assert linear.get_layer("mlp_output").activation is keras.activations.linear


def test_options_reach_the_layers():
    regularizer = keras.regularizers.L2(0.1)
    model = build_mlp(
        (2,),
        hidden=(3,),
        activation="tanh",
        use_bias=False,
        kernel_regularizer=regularizer,
        dtype="float64",
    )
    for name in ("mlp_hidden0", "mlp_output"):
        layer = model.get_layer(name)
        assert not layer.use_bias and layer.kernel_regularizer is not None
        assert layer.kernel.dtype == "float64"
    assert len(model.losses) == 2  # one penalty per kernel, none on biases
    assert model.get_layer("mlp_hidden0").activation is keras.activations.tanh


def test_fit_one_step_and_keras_round_trip(tmp_path):
    model = build_mlp((2,), hidden=(4,), activation="tanh")
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    y = np.array([0, 1, 1, 0], np.float32)
    model.fit(x, y, epochs=1, verbose=0)
    path = os.path.join(tmp_path, "mlp.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"hidden": [4, 0]}, r"`hidden`, expected positive integers\. Received: hidden=\[4, 0\]"),
        ({"hidden": (4, -1)}, r"Received: hidden=\(4, -1\)"),
        ({"hidden": (2.5,)}, r"Received: hidden=\(2.5,\)"),
        ({"hidden": "4"}, r"Received: hidden='4'"),
        (
            {"output": "tanh"},
            r"`output`, expected one of \('sigmoid', 'softmax', 'linear'\)\. Received: output='tanh'",
        ),
        (
            {"output_units": 0},
            r"`output_units`, expected a positive integer\. Received: "
            r"output_units=0",
        ),
        ({"output": "softmax", "output_units": 1}, r"softmax over one unit"),
        (
            {"input_shape": (0,)},
            r"`input_shape`, expected a shape of .* Received: "
            r"input_shape=\(0,\)",
        ),
        ({"input_shape": (4, None)}, r"Received: input_shape=\(4, None\)"),
        ({"activation": "not_an_activation"}, r"not_an_activation"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, match):
    kwargs = {"input_shape": (2,), **kwargs}
    with pytest.raises(ValueError, match=match):
        build_mlp(**kwargs)


def test_N6_identity_mlp_equals_its_composed_affine_map():
    model = build_mlp(
        (2, 3),
        hidden=(5, 1, 4),
        activation="linear",
        output_units=2,
        output="linear",
        dtype="float64",
    )
    rng = np.random.default_rng(0)
    for layer in model.layers:  # non-zero biases, so b is tested too
        if isinstance(layer, keras.layers.Dense):
            layer.bias.assign(rng.normal(size=layer.bias.shape))
    weight, bias = compose_affine(model)
    assert weight.shape == (6, 2) and bias.shape == (2,)
    x = rng.normal(size=(10, 2, 3))
    np.testing.assert_allclose(
        np.asarray(model(x)), x.reshape(10, -1) @ weight + bias, rtol=1e-10, atol=1e-12
    )
    # The width-1 layer is a bottleneck: the whole map has rank 1, however
    # many layers there are -- depth without non-linearity adds nothing.
    assert np.linalg.matrix_rank(weight) == 1


def test_N6_compose_affine_without_biases_and_refuses_nonlinear():
    model = build_mlp((3,), hidden=(4,), activation="linear", output="linear", use_bias=False)
    weight, bias = compose_affine(model)
    np.testing.assert_array_equal(bias, 0.0)
    np.testing.assert_allclose(
        weight,
        np.asarray(model.get_layer("mlp_hidden0").kernel, np.float64)
        @ np.asarray(model.get_layer("mlp_output").kernel, np.float64),
    )
    with pytest.raises(ValueError, match="identity activations"):
        compose_affine(build_mlp((3,), hidden=(4,), activation="relu", output="linear"))
    with pytest.raises(ValueError, match="identity activations"):
        compose_affine(build_mlp((3,), hidden=(4,), activation="linear", output="sigmoid"))
