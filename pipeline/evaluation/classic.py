"""The image codecs people use, as anchors: JPEG, WebP, AVIF and JPEG 2000.

JPEG, WebP and AVIF are the camera codecs of :mod:`pipeline.codec.standard`, at the settings a
camera node uses (AVIF at libavif speed 8 on one thread); JPEG 2000 is OpenCV's. Each codec
turns a uint8 RGB or grey image into the bytes of a complete file, and those bytes
back into an image with the same channels, so bits per pixel come from real file sizes.
Quality grids are chosen so that the curves span roughly 0.05 to 1.5 bpp on the project's
stereo sets (measured; see ``docs/evaluation.md``).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from pipeline.codec.standard import STANDARD_CODECS, opencv_encoder, opencv_pixels


@dataclass(frozen=True)
class ClassicCodec:
    """A conventional codec: ``encode(image, quality) -> bytes``, ``decode(bytes, channels)``."""

    name: str
    qualities: tuple[int, ...]
    encode: Callable[[np.ndarray, int], bytes]
    decode: Callable[[bytes, int], np.ndarray]


def _standard(name: str, qualities: tuple[int, ...]) -> ClassicCodec:
    """A camera codec (:data:`STANDARD_CODECS`) as an anchor, decoded as the decoder does."""
    codec = STANDARD_CODECS[name]

    def decode(data: bytes, channels: int) -> np.ndarray:
        with Image.open(io.BytesIO(data)) as image:
            shape = image.size[::-1]
        return codec.decode(data, channels, shape)

    return ClassicCodec(name, qualities, codec.encode, decode)


def _jpeg2000_encode(image: np.ndarray, quality: int) -> bytes:
    """JPEG 2000 at a target rate: ``quality`` is the target bits per pixel times 1000.

    OpenCV's ``IMWRITE_JPEG2000_COMPRESSION_X1000`` is 1000 divided by the compression
    ratio over the raw 8 bits per sample, so the parameter depends on the channel count.
    """
    channels = 1 if image.ndim == 2 else image.shape[2]
    parameter = int(np.clip(round(quality / (8 * channels)), 1, 1000))
    return opencv_encoder(".jp2", cv2.IMWRITE_JPEG2000_COMPRESSION_X1000)(image, parameter)


CLASSIC_CODECS: dict[str, ClassicCodec] = {
    "jpeg": _standard("jpeg", (5, 10, 20, 35, 50, 70, 85, 92)),
    "webp": _standard("webp", (1, 5, 15, 30, 50, 70, 85, 95)),
    "jpeg2000": ClassicCodec(
        "jpeg2000", (50, 100, 200, 350, 600, 1000, 1500), _jpeg2000_encode, opencv_pixels
    ),
    "avif": _standard("avif", (10, 25, 40, 55, 65, 75, 85)),
}
"""Every conventional codec the evaluation knows, by the name used in ``rd.json``."""
