"""A6: the BetaVAE score and the MIG at disentanglement_lib's protocol, on synthetic codes.

The "observations" are a full factorial grid of 4 factors with 10 values
each (10,000 points, the protocol's MIG sample size), and a code is a
function of the factor values, so each score's right answer is known:

- perfect (the factors themselves): 1 on both scores.
- noise (a random code, independent of the factors): the BetaVAE score is
  chance, 1/4, and the MIG is the histogram estimator's bias, ~0.
- two factors mixed into one dimension, z = (v0 + v1, v2, v3): v0 and v1
  have the same distribution, so a pair sharing v0 and a pair sharing v1
  give the same feature distribution and no classifier can tell the two
  labels apart: the BetaVAE score is (1 + 1 + 1/2 + 1/2) / 4 = 3/4. Its
  MIG is (2 * I(v0 + v1; v0) / H(v0) + 2) / 4 in closed form.

Equal factor sizes make every factor's partner pool the same size, so a
random code gives every label the same feature distribution (with unequal
sizes the chance of drawing a pair of identical images differs by factor).
"""

import itertools

import numpy as np
import pytest

from mpkeras.metrics import beta_vae_score, mutual_information_gap

FACTORS = np.array(list(itertools.product(range(10), repeat=4)))
OBS = FACTORS.astype("float64")
NOISE = np.random.default_rng(7).normal(size=(len(FACTORS), 4))
# Evaluation accuracy is a mean over 5,000 points: its standard deviation
# is at most sqrt(0.25 / 5000) = 0.007, so 0.03 is over 4 sigma.
ACCURACY_TOL = 0.03


def perfect(x):
    return x


def noise(x):
    # A fixed random code per grid point (the observations index the grid).
    index = np.ravel_multi_index(x.astype(int).T, (10,) * 4)
    return NOISE[index]


def mixed(x):
    return np.stack([x[:, 0] + x[:, 1], x[:, 2], x[:, 3]], axis=1)


def _entropy(p):
    p = p[p > 0]
    return float(-np.sum(p * np.log(p)))


def test_A6_beta_vae_score_protocol_defaults():
    # batch 64, 10,000 / 5,000 points: a perfect code is separable.
    assert beta_vae_score(perfect, OBS, FACTORS) >= 0.99


def test_A6_beta_vae_score_noise_is_chance():
    score = beta_vae_score(noise, OBS, FACTORS, seed=1)
    np.testing.assert_allclose(score, 0.25, atol=ACCURACY_TOL)


def test_A6_beta_vae_score_two_factors_mixed_is_three_quarters():
    score = beta_vae_score(mixed, OBS, FACTORS, seed=2)
    np.testing.assert_allclose(score, 0.75, atol=ACCURACY_TOL)


def test_A6_mig_perfect_noise_mixed():
    assert mutual_information_gap(perfect, OBS, FACTORS) == pytest.approx(1.0, abs=1e-9)
    # Plug-in MI of independent variables is biased up by ~(bins - 1)
    # (values - 1) / (2 N) = 19 * 9 / 20000 = 0.009 nats per pair, and the
    # gap is a difference of two such terms, over H = log 10 = 2.3 nats.
    assert mutual_information_gap(noise, OBS, FACTORS) < 0.01
    # v0 + v1 takes 19 values, each in its own of the 20 bins, and the grid
    # is complete, so the MI is exact: I(v0 + v1; v0) = H(v0 + v1) - H(v1).
    triangle = np.convolve(np.full(10, 0.1), np.full(10, 0.1))
    gap = (_entropy(triangle) - np.log(10)) / np.log(10)
    expected = (2 * gap + 2) / 4
    np.testing.assert_allclose(mutual_information_gap(mixed, OBS, FACTORS), expected, atol=1e-9)
    assert 0.6 < expected < 0.8


def test_defaults_are_disentanglement_libs_protocol():
    # unsupervised_study_v1: beta_vae_sklearn.gin (batch_size 64, num_train
    # 10000, num_eval 5000) and mig.gin (num_train 10000, 20 bins).
    import inspect

    beta = inspect.signature(beta_vae_score).parameters
    assert (beta["batch_size"].default, beta["num_train"].default) == (64, 10000)
    assert beta["num_eval"].default == 5000
    mig = inspect.signature(mutual_information_gap).parameters
    assert (mig["num_samples"].default, mig["num_bins"].default) == (10000, 20)
