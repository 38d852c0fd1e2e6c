"""Model builders and `keras.Model` subclasses, one concept per module."""

from mpkeras._lazy import import_modules, lazy_exports

_EXPORTS = {
    "Perceptron": "perceptron",
    "build_mlp": "mlp",
    "build_parallel_mlps": "mlp",
    "compose_affine": "mlp",
    "build_cnn": "cnn",
    "build_unet": "unet",
    "build_autoencoder": "autoencoder",
    "build_encoder": "autoencoder",
    "build_decoder": "autoencoder",
    "Autoencoder": "autoencoder",
    "VAE": "vae",
    "build_vae": "vae_builders",
    "build_vae_encoder": "vae_builders",
    "build_vae_decoder": "vae_builders",
    # The RNN builders, one per sequence mode of the notes (section 4).
    "build_one_to_one": "rnn",
    "build_one_to_many": "rnn",
    "build_many_to_one": "rnn",
    "build_many_to_many": "rnn",
    "build_sequence_model": "rnn",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
# Importing the package registers every class it exports for Keras serialisation,
# so plain keras.saving.load_model works after `import mpkeras.<package>`.
import_modules(__name__, _EXPORTS)
