"""Custom Keras layers, one concept per module.

Every layer is registered for Keras serialisation (package "mpkeras"), has a
complete ``get_config`` and ``compute_output_shape`` where the shape changes.
"""

from mpkeras._lazy import import_modules, lazy_exports

_EXPORTS = {
    # Chapter 2: a Conv2D whose gradients come from the notes' formulas (C4).
    "ExplicitConv2D": "explicit_conv",
    # Chapter 3: max pooling that returns argmax indices, and max unpooling.
    "MaxPoolingWithArgmax1D": "pooling",
    "MaxPoolingWithArgmax2D": "pooling",
    "MaxPoolingWithArgmax3D": "pooling",
    "MaxUnpooling1D": "pooling",
    "MaxUnpooling2D": "pooling",
    "MaxUnpooling3D": "pooling",
    "BedOfNails2D": "upsampling",
    # Chapter 4: the Elman recurrence.
    "ElmanCell": "recurrent",
    "Elman": "recurrent",
    # Chapter 5: the reparameterisation trick.
    "Sampling": "sampling",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
# Importing the package registers every class it exports for Keras serialisation,
# so plain keras.saving.load_model works after `import mpkeras.<package>`.
import_modules(__name__, _EXPORTS)
