"""Image files on disk: the suffixes read as images, a folder's images, a stereo set's pairs.

A stereo set is a folder with ``left/NAME`` and ``right/NAME`` (same name, same capture); the
camera's folder source, the training data, the evaluation and the benchmarks all read this
layout through :func:`stereo_pairs` or :func:`images_in`. No torch, no image decoding.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm", ".pgm")
"""File suffixes (any case) taken as images: what OpenCV's ``imread`` reads."""


def images_in(folder: Path, suffixes: Sequence[str] = IMAGE_SUFFIXES) -> list[Path]:
    """Image files directly inside ``folder``, in name order (``[]`` when it holds none)."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in suffixes)


def stereo_pairs(folder: Path, suffixes: Sequence[str] = IMAGE_SUFFIXES) -> list[tuple[Path, Path]]:
    """``(left, right)`` of every ``folder/left/NAME`` with a ``folder/right/NAME``, in name order.

    Raises ``FileNotFoundError`` naming the folder when ``left/`` is missing or no pair is found.
    """
    left_dir, right_dir = folder / "left", folder / "right"
    if not left_dir.is_dir():
        raise FileNotFoundError(f"{folder}: no left/ folder (expected left/NAME and right/NAME)")
    pairs = [
        (left, right_dir / left.name)
        for left in images_in(left_dir, suffixes)
        if (right_dir / left.name).is_file()
    ]
    if not pairs:
        kinds = ", ".join(suffixes)
        raise FileNotFoundError(f"{folder}: no left/NAME with a matching right/NAME ({kinds})")
    return pairs
