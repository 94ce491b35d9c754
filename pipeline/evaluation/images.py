"""Finding stereo pairs on disk and reading them the way the evaluation scores them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from pipeline.image_folders import stereo_pairs


@dataclass(frozen=True)
class PairFiles:
    """One stereo pair on disk: ``<root>/left/<name>`` and ``<root>/right/<name>``."""

    set_name: str
    name: str
    left: Path
    right: Path


def find_pairs(root: Path, limit: int | None = None) -> list[PairFiles]:
    """Pairs under ``root`` in file-name order: every ``left/*.png`` with a same-named right view.

    Raises ``FileNotFoundError`` when ``root/left`` is missing or holds no pair.
    """
    pairs = [
        PairFiles(root.name, left.stem, left, right)
        for left, right in stereo_pairs(root, suffixes=(".png",))
    ]
    return pairs[:limit] if limit is not None else pairs


def pixel_count(path: Path) -> int:
    """Width times height of an image file, read from its header only."""
    with Image.open(path) as image:
        width, height = image.size
    return width * height


def to_bgr(image: np.ndarray) -> np.ndarray:
    """RGB to BGR for OpenCV; grey is returned unchanged."""
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)


def from_bgr(image: np.ndarray) -> np.ndarray:
    """BGR (or BGRA) from OpenCV to RGB; grey is returned unchanged."""
    if image.ndim == 2:
        return image
    return cv2.cvtColor(image[:, :, :3], cv2.COLOR_BGR2RGB)
