"""A minimal PNG encoder for uint8 images (greyscale or RGB).

Written directly with zlib: an order of magnitude faster than TFDS's
TensorFlow encoder, which matters when rendering hundreds of thousands of
images (the full sprites grid). TFDS's ``Image`` feature accepts the bytes
as they are and decodes them with ``tf.io.decode_png`` as usual.
"""

import struct
import zlib

import numpy as np

_COLOR_TYPES = {1: 0, 3: 2}  # channels -> PNG colour type (grey, RGB)


def _chunk(kind, data):
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def encode_png(image, level=6):
    """PNG bytes of an (h, w, 1) or (h, w, 3) uint8 image, unfiltered.

    Args:
        image: uint8 array.
        level: zlib compression level.

    Returns:
        The PNG file as bytes.
    """
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in _COLOR_TYPES:
        raise ValueError(
            f"Expected a uint8 image of shape (h, w, 1 or 3). Received: "
            f"dtype={image.dtype}, shape={image.shape}"
        )
    height, width, channels = image.shape
    rows = np.zeros((height, width * channels + 1), dtype=np.uint8)
    rows[:, 1:] = image.reshape(height, width * channels)  # filter byte 0 per row
    header = struct.pack(">IIBBBBB", width, height, 8, _COLOR_TYPES[channels], 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows.tobytes(), level))
        + _chunk(b"IEND", b"")
    )
