"""Probes of trained or untrained models: gradient norms, subspaces."""

from mpkeras._lazy import lazy_exports

_EXPORTS = {
    # Chapter 4: BPTT gradient norms ||dh_T/dh_k|| (R3).
    "hidden_state_gradient_norms": "gradients",
    "set_spectral_radius": "gradients",
    # Chapter 5a: principal angles between a learned basis and PCA's (A1).
    "subspace_angles": "subspaces",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
