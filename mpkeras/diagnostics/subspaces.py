"""Principal angles between subspaces (notes chapter 5a, claim A1).

A linear autoencoder trained on the squared reconstruction error learns the
top-k principal subspace, but not PCA's orthonormal basis: its decoder
columns are any basis of that subspace. Principal angles compare subspaces
independently of the basis.
"""

import numpy as np
import scipy.linalg


def _matrix(value, name):
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        array = None
    if array is None or array.ndim != 2 or 0 in array.shape:
        raise ValueError(
            f"Received an invalid value for `{name}`, expected a non-empty "
            "2-D matrix whose columns span a subspace. Received: "
            f"{name} with shape {getattr(array, 'shape', None)}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"Received an invalid value for `{name}`: it contains NaN or inf.")
    return array


def subspace_angles(a, b, degrees=False):
    """Principal angles between the column spaces of `a` and `b`.

    For subspaces U = span(a), V = span(b) of R^n the principal angles
    0 <= theta_1 <= ... <= theta_m <= pi/2, m = min(dim U, dim V), are

        cos theta_i = max_{u in U, v in V} u^T v,  ||u|| = ||v|| = 1,
                      u _|_ u_1..u_{i-1},  v _|_ v_1..v_{i-1},

    i.e. the singular values of Q_a^T Q_b for orthonormal bases Q_a, Q_b.
    The subspaces are equal iff all angles are 0 (with equal dimensions);
    the largest angle is the distance used by claim A1 (decoder basis of a
    linear autoencoder vs the top-k PCA components). Computed by
    `scipy.linalg.subspace_angles`, which is accurate for small angles.

    Args:
        a: (n, p) matrix; its columns span the first subspace (they need not
            be orthonormal, e.g. a linear decoder's kernel transposed).
        b: (n, q) matrix, same number of rows.
        degrees: return degrees instead of radians.

    Returns:
        A float64 NumPy array of min(p, q) angles, ascending (smallest
        first); `angles[-1]` is the largest.

    Raises:
        ValueError: not 2-D matrices, different numbers of rows, NaN/inf.

    Example:

    >>> subspace_angles([[1, 0], [0, 1], [0, 0]], [[1], [1], [0]], degrees=True)
    array([0.])
    """
    a = _matrix(a, "a")
    b = _matrix(b, "b")
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            "`a` and `b` must have the same number of rows (the ambient "
            f"dimension). Received: a.shape={a.shape}, b.shape={b.shape}"
        )
    angles = np.sort(scipy.linalg.subspace_angles(a, b))
    return np.degrees(angles) if degrees else angles


def linear_decoder_basis(decoder):
    """The (features, k) matrix whose columns span a linear decoder's output.

    For a decoder x_hat = W z + b made of one Dense layer (Keras stores the
    kernel as (k, features), row-vector convention), returns W = kernel^T;
    `build_autoencoder(..., kind="linear").decoder` is such a decoder.

    Args:
        decoder: a Keras model whose only weighted layer is a linear Dense.

    Returns:
        A float64 NumPy array of shape (features, k).

    Raises:
        ValueError: if the decoder has not exactly one Dense kernel.
    """
    kernels = [
        layer.kernel for layer in decoder.layers if hasattr(layer, "kernel") and layer.weights
    ]
    if len(kernels) != 1 or len(kernels[0].shape) != 2:
        raise ValueError(
            "Received an invalid value for `decoder`, expected a linear "
            "decoder with exactly one Dense layer. Received: a model with "
            f"{len(kernels)} kernels"
        )
    return np.asarray(kernels[0], dtype=np.float64).T
