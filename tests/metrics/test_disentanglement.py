"""A6: disentanglement scores on synthetic codes whose answer is known."""

import itertools

import numpy as np
import pytest

from mpkeras.metrics import beta_vae_score, mutual_information_gap
from mpkeras.metrics.disentanglement import mutual_information_matrix

# A full factorial grid of 4 factors (3 x 4 x 5 x 6 values), as sprites is;
# the "observations" are the factor values themselves.
FACTORS = np.array(list(itertools.product(range(3), range(4), range(5), range(6))))
OBS = FACTORS.astype("float64")
ROTATION, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(4, 4)))


def perfect(x):
    return x


def rotated(x):
    return x @ ROTATION


def test_A6_beta_vae_score_perfect_code_near_top_rotation_lower():
    kwargs = dict(batch_size=4, num_train=300, num_eval=300, seed=0)
    top = beta_vae_score(perfect, OBS, FACTORS, **kwargs)
    mixed = beta_vae_score(rotated, OBS, FACTORS, **kwargs)
    assert top >= 0.95
    assert mixed <= top - 0.1
    # Chance is 1/4: the rotated code still carries the information.
    assert mixed > 0.4
    # Deterministic given the seed.
    assert beta_vae_score(rotated, OBS, FACTORS, **kwargs) == mixed


def test_A6_beta_vae_score_ignores_constant_factors_and_code_scale():
    factors = np.concatenate([FACTORS, np.zeros((len(FACTORS), 1), int)], axis=1)
    kwargs = dict(batch_size=4, num_train=200, num_eval=200, seed=1)
    a = beta_vae_score(perfect, OBS, factors, **kwargs)
    b = beta_vae_score(lambda x: 100.0 * x, OBS, factors, **kwargs)
    assert a >= 0.95 and a == pytest.approx(b, abs=0.02)


def test_A6_mig_perfect_code_is_one_rotation_lower():
    assert mutual_information_gap(perfect, OBS, FACTORS) == pytest.approx(1.0, abs=1e-9)
    mixed = mutual_information_gap(rotated, OBS, FACTORS)
    assert mixed < 0.6
    noisy = mutual_information_gap(
        lambda x: x + 0.05 * np.random.default_rng(2).normal(size=x.shape), OBS, FACTORS
    )
    assert noisy > 0.9


def test_mig_hand_computed_duplicated_code():
    # Factor 0 is copied into two code dimensions: its gap is 0; factor 1
    # has one dimension to itself: gap 1. MIG = (0 + 1) / 2.
    factors = np.array(list(itertools.product(range(4), range(3))))

    def codes(f):
        return np.stack([f[:, 0], f[:, 0], f[:, 1]], axis=1).astype(float)

    assert mutual_information_gap(codes, factors, factors) == pytest.approx(0.5, abs=1e-9)
    m = mutual_information_matrix(codes(factors), factors)
    np.testing.assert_allclose(m[:, 0], [np.log(4), np.log(4), 0.0], atol=1e-9)
    np.testing.assert_allclose(m[:, 1], [0.0, 0.0, np.log(3)], atol=1e-9)


def test_mig_subsamples_with_the_seed():
    a = mutual_information_gap(rotated, OBS, FACTORS, num_samples=200, seed=3)
    b = mutual_information_gap(rotated, OBS, FACTORS, num_samples=200, seed=3)
    assert a == b


def test_scores_accept_a_vae():
    from mpkeras.models import build_vae

    vae = build_vae((4,), 3, kind="mlp", hidden=(8,), likelihood="gaussian", seed=0)
    x = OBS.astype("float32")
    mig = mutual_information_gap(vae, x, FACTORS, num_samples=100)
    score = beta_vae_score(vae, x, FACTORS, batch_size=4, num_train=50, num_eval=50)
    assert 0.0 <= mig <= 1.0 and 0.0 <= score <= 1.0


def test_bad_input():
    with pytest.raises(ValueError, match="factors"):
        beta_vae_score(perfect, OBS, FACTORS[:10])
    with pytest.raises(ValueError, match="factors"):
        beta_vae_score(perfect, OBS, FACTORS[:, 0])
    with pytest.raises(ValueError, match="num_train"):
        beta_vae_score(perfect, OBS, FACTORS, num_train=0)
    with pytest.raises(ValueError, match="batch_size"):
        beta_vae_score(perfect, OBS, FACTORS, batch_size=0)
    with pytest.raises(ValueError, match="encode"):
        mutual_information_gap("encoder", OBS, FACTORS)
    with pytest.raises(ValueError, match="num_bins"):
        mutual_information_gap(perfect, OBS, FACTORS, num_bins=1)
    with pytest.raises(ValueError, match="two dimensions"):
        mutual_information_gap(lambda x: x[:, :1], OBS, FACTORS)
