"""Checks of what an encoder is given (an image, a quality), without torch."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def check_image(image: np.ndarray) -> np.ndarray:
    """Accept uint8 (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); return (H, W) or (H, W, 3)."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise ValueError("image must be a numpy uint8 array")
    if image.ndim == 3 and image.shape[2] in (1, 4):
        image = image[:, :, 0] if image.shape[2] == 1 else image[:, :, :3]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ValueError(f"image must be (H, W) grey or (H, W, 3) RGB, got shape {image.shape}")
    if min(image.shape[:2]) < 1 or max(image.shape[:2]) > 65535:
        raise ValueError(f"image size {image.shape[:2]} out of range 1..65535")
    return image


def checked_quality(quality: int | None, qualities: tuple[int, ...], default: int) -> int:
    """``quality`` (``default`` when None); ValueError unless it is one of ``qualities``."""
    quality = default if quality is None else quality
    if quality not in qualities:
        raise ValueError(f"quality {quality} not in {qualities[0]}..{qualities[-1]}")
    return quality


def read_image(path: str | Path) -> np.ndarray:
    """Read an image as uint8 RGB ``(H, W, 3)`` or grey ``(H, W)``, keeping its own channels.

    Alpha is dropped (RGBA -> RGB), a grey PNG stays grey, 16-bit images are scaled to 8 bits.
    """
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(f"{path}: not a readable image")
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    if image.dtype != np.uint8:
        raise ValueError(f"{path}: unsupported pixel type {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    if image.ndim == 3:
        return cv2.cvtColor(image[:, :, :3], cv2.COLOR_BGR2RGB)
    return image
