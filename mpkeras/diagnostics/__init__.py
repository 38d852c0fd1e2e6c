"""Probes of trained or untrained models: gradient norms, subspaces."""

from mpkeras._lazy import import_modules, lazy_exports

_EXPORTS = {
    # Chapter 1: margins of separators of augmented points (Novikoff's bound, N1).
    "augment_with_one": "margins",
    "augmented_margin": "margins",
    "max_margin_separator": "margins",
    # Chapter 4: BPTT gradient norms ||dh_T/dh_k|| (R3).
    "hidden_state_gradient_norms": "gradients",
    "set_spectral_radius": "gradients",
    "log_norm_slope": "gradients",
    # Chapter 5a: principal angles between a learned basis and PCA's (A1).
    "subspace_angles": "subspaces",
    "linear_decoder_basis": "subspaces",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
# Importing the package registers every class it exports for Keras serialisation,
# so plain keras.saving.load_model works after `import mpkeras.<package>`.
import_modules(__name__, _EXPORTS)
