"""Keras callbacks: crash-safe training and TensorBoard figures, one family per module."""

from mpkeras._lazy import import_modules, lazy_exports

_EXPORTS = {
    "StopOnNaN": "training",
    "ShuffleEpoch": "training",
    "TrainingDiverged": "training",
    "ResumableHistory": "history",
    "FigureLogger": "figures",
    "figure_to_image": "figures",
    # Chapter 5b: reconstructions, prior samples and latent traversals.
    "LatentImageLogger": "latent",
    # Runs compared in TensorBoard: HParams sessions, the Embedding Projector.
    "log_run_hparams": "hparams",
    "log_sweep_hparams": "hparams",
    "write_run_hparams": "hparams",
    "write_hparams_config": "hparams",
    "EmbeddingLogger": "projector",
    "write_embedding": "projector",
    "latent_means": "projector",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
# Importing the package registers every class it exports for Keras serialisation,
# so plain keras.saving.load_model works after `import mpkeras.<package>`.
import_modules(__name__, _EXPORTS)
