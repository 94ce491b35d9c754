"""The image codecs people use, as anchors: JPEG, WebP and JPEG 2000 (OpenCV), AVIF (Pillow).

Each codec turns a uint8 RGB or grey image into the bytes of a complete file, and those bytes
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

from pipeline.evaluation.images import from_bgr, to_bgr

AVIF_SPEED = 6
"""libavif encoder speed (0 slowest/best to 10 fastest); 6 is Pillow's default."""


@dataclass(frozen=True)
class ClassicCodec:
    """A conventional codec: ``encode(image, quality) -> bytes``, ``decode(bytes, channels)``."""

    name: str
    qualities: tuple[int, ...]
    encode: Callable[[np.ndarray, int], bytes]
    decode: Callable[[bytes, int], np.ndarray]


def _opencv_encoder(extension: str, flag: int) -> Callable[[np.ndarray, int], bytes]:
    def encode(image: np.ndarray, quality: int) -> bytes:
        ok, buffer = cv2.imencode(extension, to_bgr(image), [flag, int(quality)])
        if not ok:
            raise RuntimeError(f"OpenCV could not encode {extension} at quality {quality}")
        return buffer.tobytes()

    return encode


def _opencv_decode(data: bytes, channels: int) -> np.ndarray:
    """Decode with OpenCV into the original's channels (WebP has no grey mode: take luma)."""
    mode = cv2.IMREAD_GRAYSCALE if channels == 1 else cv2.IMREAD_COLOR
    image = cv2.imdecode(np.frombuffer(data, np.uint8), mode)
    if image is None:
        raise RuntimeError("OpenCV could not decode its own output")
    return from_bgr(image)


def _jpeg2000_encode(image: np.ndarray, quality: int) -> bytes:
    """JPEG 2000 at a target rate: ``quality`` is the target bits per pixel times 1000.

    OpenCV's ``IMWRITE_JPEG2000_COMPRESSION_X1000`` is 1000 divided by the compression
    ratio over the raw 8 bits per sample, so the parameter depends on the channel count.
    """
    channels = 1 if image.ndim == 2 else image.shape[2]
    parameter = int(np.clip(round(quality / (8 * channels)), 1, 1000))
    return _opencv_encoder(".jp2", cv2.IMWRITE_JPEG2000_COMPRESSION_X1000)(image, parameter)


def _avif_encode(image: np.ndarray, quality: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="AVIF", quality=int(quality), speed=AVIF_SPEED)
    return buffer.getvalue()


def _avif_decode(data: bytes, channels: int) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("L" if channels == 1 else "RGB"))


CLASSIC_CODECS: dict[str, ClassicCodec] = {
    "jpeg": ClassicCodec(
        "jpeg",
        (5, 10, 20, 35, 50, 70, 85, 92),
        _opencv_encoder(".jpg", cv2.IMWRITE_JPEG_QUALITY),
        _opencv_decode,
    ),
    "webp": ClassicCodec(
        "webp",
        (0, 5, 15, 30, 50, 70, 85, 95),
        _opencv_encoder(".webp", cv2.IMWRITE_WEBP_QUALITY),
        _opencv_decode,
    ),
    "jpeg2000": ClassicCodec(
        "jpeg2000", (50, 100, 200, 350, 600, 1000, 1500), _jpeg2000_encode, _opencv_decode
    ),
    "avif": ClassicCodec("avif", (10, 25, 40, 55, 65, 75, 85), _avif_encode, _avif_decode),
}
"""Every conventional codec the evaluation knows, by the name used in ``rd.json``."""
