"""Metrics of the notes' experiments, one family per module."""

from mpkeras._lazy import import_modules, lazy_exports

_EXPORTS = {
    # Chapter 3: segmentation.
    "per_class_iou": "segmentation",
    "evaluate_iou": "segmentation",
    # Chapter 5a: image quality as Keras metrics.
    "PSNR": "image_quality",
    "SSIM": "image_quality",
    # Chapter 5b: disentanglement scores.
    "beta_vae_score": "disentanglement",
    "mutual_information_gap": "disentanglement",
    # Chapter 5b: a VAE's importance-weighted log p(x).
    "importance_weighted_log_likelihood": "log_likelihood",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
# Importing the package registers every class it exports for Keras serialisation,
# so plain keras.saving.load_model works after `import mpkeras.<package>`.
import_modules(__name__, _EXPORTS)
