"""The standard image codecs a camera may run instead of the learned one: JPEG, WebP, AVIF.

Each turns a uint8 grey ``(H, W)`` or RGB ``(H, W, 3)`` image into the bytes of a complete file
and back. The decoder side first reads the file's own header (Pillow, without decoding) and
checks its format and size against what the container declares, so a payload that claims a
huge image is refused before any pixel is allocated; only then it decodes. What the libraries
raise on bad bytes (:data:`PILLOW_DATA_ERRORS`, :data:`OPENCV_DATA_ERRORS`,
:data:`AVIF_DATA_ERRORS`) becomes
:class:`~pipeline.codec.bitstream.errors.CorruptBitstreamError`; anything else
(``MemoryError``, ``TypeError``, a bug) propagates, and the decoder counts it as
``decode_error``, not as a bad frame.

Libraries (the fastest maintained decoder of each format that installs by name, measured at
640x480 on this project's CPU): JPEG with OpenCV's libjpeg-turbo (0.5 ms a colour frame against
Pillow's 2.1 ms), WebP with OpenCV's libwebp (1.5 against 3.2 ms), AVIF with Pillow's libavif
(2.6 ms; OpenCV reads no AVIF). Encoder settings are the camera's: one thread, and for AVIF
libavif speed :data:`AVIF_SPEED`; WebP is OpenCV's fixed effort (method 4: 18 ms a
640x480 colour frame on one thread). docs/models.md says why.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from pipeline.codec.bitstream.errors import CorruptBitstreamError
from pipeline.codec.video.settings import VIDEO_CODECS

AVIF_SPEED = 8
"""libavif encoder speed (0 slowest to 10 fastest): 38 ms a 640x480 colour frame on one thread
here, against 139 ms at Pillow's default 6, for 9% more bytes at the same quality setting."""

PILLOW_DATA_ERRORS: tuple[type[Exception], ...] = (
    OSError,  # UnidentifiedImageError, truncated files, "could not create decoder object"
    ValueError,
    SyntaxError,  # a plugin's "not a valid file", libavif's parse and truncation results
    EOFError,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,  # raised: decode_checked turns the warning into an error
)
"""What Pillow raises on bytes it cannot read (found by decoding 60,000 mutated JPEG, WebP and
AVIF files: tests/codec/test_standard_errors.py keeps a sample of them)."""
OPENCV_DATA_ERRORS: tuple[type[Exception], ...] = (*PILLOW_DATA_ERRORS, cv2.error)
"""A codec decoded by OpenCV: Pillow reads its header, ``cv2.imdecode`` its pixels (``None``
on bad data, which :func:`opencv_pixels` raises as ``ValueError``; ``cv2.error`` past its
limits)."""
AVIF_DATA_ERRORS: tuple[type[Exception], ...] = (*PILLOW_DATA_ERRORS, RuntimeError)
"""Pillow's libavif binding raises ``RuntimeError`` for the decoder results it does not map
to ``SyntaxError`` or ``ValueError`` ("Missing or empty image item", "Decoding of color planes
failed")."""


@dataclass(frozen=True)
class StandardCodec:
    """One standard codec: its name, its quality range and default, and its two directions.

    ``encode(image, quality) -> bytes`` writes a complete file; ``decode(data, channels)``
    returns a uint8 image with ``channels`` (1: grey, 3: RGB) after checking the file's
    format and size (:func:`decode_checked`). ``data_errors``: what its libraries raise on bad
    bytes, the only exceptions its decode turns into ``CorruptBitstreamError``.
    """

    name: str
    file_format: str
    qualities: tuple[int, ...]
    default_quality: int
    encode: Callable[[np.ndarray, int], bytes]
    pixels: Callable[[bytes, int], np.ndarray]
    data_errors: tuple[type[Exception], ...]

    def decode(self, data: bytes, channels: int, shape: tuple[int, int]) -> np.ndarray:
        """The image in ``data``, which must be a ``file_format`` file of ``shape`` (h, w)."""
        return decode_checked(self, data, channels, shape)


def decode_checked(
    codec: StandardCodec, data: bytes, channels: int, shape: tuple[int, int]
) -> np.ndarray:
    """Check the file's own header (format, height, width) against the container, then decode.

    Raises :class:`CorruptBitstreamError` for anything that is not a ``shape`` image of the
    codec's format, or that the library cannot decode (``codec.data_errors``); other exceptions
    propagate.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[codec.file_format]) as image:
                width, height = image.size
    except codec.data_errors as e:
        raise CorruptBitstreamError(f"not a readable {codec.name} file: {e}") from e
    if (height, width) != tuple(shape):
        raise CorruptBitstreamError(
            f"{codec.name} file holds a {height}x{width} image, the container says "
            f"{shape[0]}x{shape[1]}"
        )
    try:
        image = codec.pixels(data, channels)
    except codec.data_errors as e:
        raise CorruptBitstreamError(f"{codec.name} decoding failed: {e}") from e
    if image is None or image.shape[:2] != (height, width):
        raise CorruptBitstreamError(f"{codec.name} decoding failed")
    return image


def _to_bgr(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)


def opencv_encoder(extension: str, flag: int) -> Callable[[np.ndarray, int], bytes]:
    def encode(image: np.ndarray, quality: int) -> bytes:
        ok, buffer = cv2.imencode(extension, _to_bgr(image), [flag, int(quality)])
        if not ok:
            raise ValueError(f"OpenCV could not encode {extension} at quality {quality}")
        return buffer.tobytes()

    return encode


def opencv_pixels(data: bytes, channels: int) -> np.ndarray:
    """OpenCV decoding into ``channels`` (grey WebP, which stores colour, gives its luma)."""
    mode = cv2.IMREAD_GRAYSCALE if channels == 1 else cv2.IMREAD_COLOR
    image = cv2.imdecode(np.frombuffer(data, np.uint8), mode)
    if image is None:
        raise ValueError("OpenCV could not decode the file")
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def avif_encode(image: np.ndarray, quality: int, speed: int = AVIF_SPEED) -> bytes:
    """An AVIF file (libavif through Pillow; grey stays grey, 4:0:0), one encoder thread."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(
        buffer, format="AVIF", quality=int(quality), speed=speed, max_threads=1
    )
    return buffer.getvalue()


def _avif_pixels(data: bytes, channels: int) -> np.ndarray:
    with Image.open(io.BytesIO(data), formats=["AVIF"]) as image:
        return np.array(image.convert("L" if channels == 1 else "RGB"))


_QUALITIES = tuple(range(1, 101))
STANDARD_CODECS: dict[str, StandardCodec] = {
    codec.name: codec
    for codec in (
        StandardCodec(
            "jpeg",
            "JPEG",
            _QUALITIES,
            50,
            opencv_encoder(".jpg", cv2.IMWRITE_JPEG_QUALITY),
            opencv_pixels,
            OPENCV_DATA_ERRORS,
        ),
        StandardCodec(
            "webp",
            "WEBP",
            _QUALITIES,
            50,
            opencv_encoder(".webp", cv2.IMWRITE_WEBP_QUALITY),
            opencv_pixels,
            OPENCV_DATA_ERRORS,
        ),
        StandardCodec("avif", "AVIF", _QUALITIES, 50, avif_encode, _avif_pixels, AVIF_DATA_ERRORS),
    )
}
"""The standard camera codecs by name; their order is the SI-Net's codec input. The default
quality of each (50) lands near 35 dB on the evaluation sets (docs/models.md): AVIF 0.37 bpp,
WebP 0.43, JPEG 0.64, where dsin-s1's default (8) gives 32.4 dB at 0.48 bpp."""
CODEC_NAMES: tuple[str, ...] = tuple(STANDARD_CODECS)
CAMERA_CODECS: tuple[str, ...] = ("dsin", *CODEC_NAMES, *VIDEO_CODECS)
"""Codecs a camera node can run: the learned one, the standard image codecs and the video
codecs (``docs/video.md``)."""
DEFAULT_CAMERA_CODEC = "avif"
"""A camera's codec when its configuration names none (README: which and why)."""
