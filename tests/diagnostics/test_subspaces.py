"""subspace_angles and linear_decoder_basis (A1: linear AE subspace = PCA subspace)."""

import numpy as np
import pytest

import mpkeras  # noqa: F401  (selects the TensorFlow backend before keras)
from mpkeras.diagnostics import subspace_angles
from mpkeras.diagnostics.subspaces import linear_decoder_basis


def rotation(theta):
    return np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])


def test_known_angles_between_planes_in_r4():
    # span(e1, e2) vs span(cos a e1 + sin a e3, cos b e2 + sin b e4): angles a, b.
    a, b = 0.3, 1.1
    u = np.eye(4)[:, :2]
    v = np.stack([[np.cos(a), 0, np.sin(a), 0], [0, np.cos(b), 0, np.sin(b)]], axis=1)
    np.testing.assert_allclose(subspace_angles(u, v), [a, b], atol=1e-12)
    np.testing.assert_allclose(subspace_angles(u, v, degrees=True), np.degrees([a, b]), atol=1e-10)


def test_A1_angles_ignore_the_basis():
    # A linear AE's decoder is PCA's basis up to an invertible map: angle 0.
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(10, 3)))[0]
    mixed = basis @ rng.normal(size=(3, 3)) * 7.0
    np.testing.assert_allclose(subspace_angles(mixed, basis), 0.0, atol=1e-7)
    # Small angles are accurate (the arccos of cosines near 1 would not be).
    tilt = 1e-6
    tilted = np.eye(3)[:, :1] * np.cos(tilt) + np.eye(3)[:, 1:2] * np.sin(tilt)
    np.testing.assert_allclose(subspace_angles(np.eye(3)[:, :1], tilted), [tilt], rtol=1e-6)


def test_numpy_reference_via_svd_and_ascending_order():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(8, 3)), rng.normal(size=(8, 4))
    qa, qb = np.linalg.qr(a)[0], np.linalg.qr(b)[0]
    cosines = np.clip(np.linalg.svd(qa.T @ qb, compute_uv=False), -1, 1)
    expected = np.sort(np.arccos(cosines))
    angles = subspace_angles(a, b)
    assert angles.shape == (3,) and np.all(np.diff(angles) >= 0)
    np.testing.assert_allclose(angles, expected, atol=1e-6)
    np.testing.assert_allclose(subspace_angles(b, a), angles, atol=1e-12)


def test_orthogonal_subspaces_and_rotation_in_plane():
    e = np.eye(3)
    np.testing.assert_allclose(subspace_angles(e[:, :1], e[:, 1:]), [np.pi / 2])
    plane = e[:, :2] @ rotation(0.7)
    np.testing.assert_allclose(subspace_angles(plane, e[:, :2]), [0, 0], atol=1e-12)


def test_linear_decoder_basis_is_kernel_transposed():
    from mpkeras.models import build_autoencoder

    model = build_autoencoder((4, 4, 1), 3, kind="linear")
    basis = linear_decoder_basis(model.decoder)
    assert basis.shape == (16, 3)
    kernel = np.asarray(model.decoder.get_layer("autoencoder_decoder_output").kernel)
    np.testing.assert_array_equal(basis, kernel.T)
    with pytest.raises(ValueError, match="decoder"):
        linear_decoder_basis(build_autoencoder((4, 4, 1), 3, kind="mlp", hidden=(4,)).decoder)


def test_bad_input():
    with pytest.raises(ValueError, match="`a`"):
        subspace_angles(np.ones(3), np.ones((3, 1)))
    with pytest.raises(ValueError, match="`b`"):
        subspace_angles(np.ones((3, 1)), np.zeros((3, 0)))
    with pytest.raises(ValueError, match="rows"):
        subspace_angles(np.ones((3, 1)), np.ones((4, 1)))
    with pytest.raises(ValueError, match="NaN"):
        subspace_angles(np.full((3, 1), np.nan), np.ones((3, 1)))
