"""R3: ||dh_T/dh_k|| by BPTT, against the notes' product of one-step Jacobians."""

import keras
import numpy as np
import pytest

import mpkeras  # noqa: F401  (selects the TensorFlow backend before keras)
from mpkeras.diagnostics import hidden_state_gradient_norms, log_norm_slope, set_spectral_radius
from mpkeras.layers import Elman, ElmanCell


def inputs(batch=3, steps=12, features=2, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, steps, features))


def built_cell(units=5, activation="tanh", radius=None, seed=0, dtype="float64"):
    keras.utils.set_random_seed(seed)
    cell = ElmanCell(units, activation=activation, dtype=dtype)
    cell.build((None, 2))
    if radius is not None:
        set_spectral_radius(cell, radius)
    return cell


def numpy_jacobian_norms(cell, x):
    """The notes' product prod_{i=k+1}^T diag(tanh'(a_i)) W_h, per example, spectral norm."""
    w_x = np.asarray(cell.kernel).T
    w_h = np.asarray(cell.recurrent_kernel).T
    b = np.asarray(cell.bias)
    batch, steps, _ = x.shape
    norms = np.zeros((batch, steps))
    for n in range(batch):
        h = np.zeros(w_h.shape[0])
        steps_jac = []
        for t in range(steps):
            a = w_h @ h + w_x @ x[n, t] + b
            h = np.tanh(a)
            steps_jac.append(np.diag(1 - h**2) @ w_h)  # dh_t/dh_{t-1}
        jac = np.eye(w_h.shape[0])
        norms[n, steps - 1] = 1.0
        for k in range(steps - 1, 0, -1):  # dh_T/dh_k = dh_T/dh_{k+1} dh_{k+1}/dh_k
            jac = jac @ steps_jac[k]
            norms[n, k - 1] = np.linalg.norm(jac, 2)
    return norms


def test_R3_tanh_matches_the_product_of_one_step_jacobians():
    cell = built_cell(radius=1.2)
    x = inputs()
    got = hidden_state_gradient_norms(cell, x, per_example=True)
    np.testing.assert_allclose(got, numpy_jacobian_norms(cell, x), rtol=1e-9)
    np.testing.assert_allclose(hidden_state_gradient_norms(cell, x), got.mean(axis=0), rtol=1e-12)


@pytest.mark.parametrize("radius", [0.5, 1.0, 1.5])
def test_R3_linear_orthogonal_recurrence_gives_radius_to_the_distance(radius):
    cell = built_cell(activation="linear", radius=radius)
    norms = hidden_state_gradient_norms(cell, inputs(steps=10))
    distance = np.arange(10)[::-1]
    np.testing.assert_allclose(norms, radius**distance, rtol=1e-9)
    np.testing.assert_allclose(log_norm_slope(norms), np.log(radius), atol=1e-9)


def test_R3_tanh_below_threshold_vanishes_under_the_bound():
    # ||diag(tanh')|| <= gamma = 1, so ||dh_T/dh_k|| <= ||W_h||^(T-k) = r^(T-k).
    cell = built_cell(radius=0.8)
    norms = hidden_state_gradient_norms(cell, inputs(steps=15), per_example=True)
    bound = 0.8 ** np.arange(15)[::-1]
    assert np.all(norms <= bound * (1 + 1e-9))
    assert log_norm_slope(norms.mean(axis=0)) < 0


def test_frobenius_norm_layer_argument_and_lstm():
    cell = built_cell(radius=0.9)
    layer = keras.layers.RNN(cell)
    x = inputs()
    fro = hidden_state_gradient_norms(layer, x, norm="fro")
    assert fro[-1] == pytest.approx(np.sqrt(5))  # ||I_5||_F
    assert np.all(fro >= hidden_state_gradient_norms(cell, x) - 1e-12)
    elman = Elman(4)
    elman.build((None, 12, 2))
    assert hidden_state_gradient_norms(elman, x).shape == (12,)
    lstm = hidden_state_gradient_norms(keras.layers.LSTMCell(4), x.astype("float32"))
    assert lstm.shape == (12,) and np.all(np.isfinite(lstm))
    assert lstm[-1] == pytest.approx(1.0, rel=1e-5)


def test_initial_state_changes_the_jacobians():
    cell = built_cell(radius=1.5)
    x = inputs()
    h0 = [np.full((3, 5), 2.0)]
    assert not np.allclose(
        hidden_state_gradient_norms(cell, x, initial_state=h0),
        hidden_state_gradient_norms(cell, x),
    )


def test_set_spectral_radius_sets_eigenvalues_and_singular_values():
    cell = built_cell(units=6)
    factor = set_spectral_radius(cell, 1.3)
    w_h = np.asarray(cell.recurrent_kernel).T
    assert factor == pytest.approx(1.3)  # orthogonal init: radius 1 before
    np.testing.assert_allclose(np.max(np.abs(np.linalg.eigvals(w_h))), 1.3, rtol=1e-12)
    np.testing.assert_allclose(np.linalg.svd(w_h, compute_uv=False), 1.3, rtol=1e-12)


def test_log_norm_slope():
    assert log_norm_slope(0.5 ** np.arange(6)[::-1]) == pytest.approx(np.log(0.5))
    assert log_norm_slope([0.0, np.inf, 1.0, 2.0]) == pytest.approx(np.log(0.5))
    assert np.isnan(log_norm_slope([0.0, 1.0]))
    with pytest.raises(ValueError, match="`norms`"):
        log_norm_slope(np.ones((2, 2)))


def test_bad_input():
    cell = built_cell()
    with pytest.raises(ValueError, match="`inputs`"):
        hidden_state_gradient_norms(cell, np.zeros((3, 2)))
    with pytest.raises(
        ValueError,
        match=r"`norm`, expected one of \('spectral', 'fro'\)\. "
        r"Received: norm='max'",
    ):
        hidden_state_gradient_norms(cell, inputs(), norm="max")
    with pytest.raises(ValueError, match="`cell`"):
        hidden_state_gradient_norms(keras.layers.Dense(2), inputs())
    for bad in (0.0, float("inf"), True):
        with pytest.raises(ValueError, match=r"`radius`, expected a positive number\. Received"):
            set_spectral_radius(cell, bad)
    lstm = keras.layers.LSTMCell(3)
    lstm.build((None, 2))
    with pytest.raises(ValueError, match="square"):
        set_spectral_radius(lstm, 1.0)
    with pytest.raises(ValueError, match="build"):
        set_spectral_radius(ElmanCell(3), 1.0)
