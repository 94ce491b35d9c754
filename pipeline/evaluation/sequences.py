"""Stereo sequences on disk: ``DIR/left/NAME`` and ``DIR/right/NAME``, in capture order.

A sequence is what a rig streams: the frames of both views in file-name order (capture order),
each of the size and channels it has on disk (grey or colour). :func:`frames_key` identifies the
frames' files (name, size, modification time) for the evaluation's cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.evaluation.images import PairFiles
from pipeline.image_folders import stereo_pairs


@dataclass(frozen=True)
class SequenceFiles:
    """One stereo sequence: its name (the folder's) and its frames in capture order."""

    name: str
    path: Path
    frames: tuple[PairFiles, ...]


def find_sequence(root: Path, limit: int | None = None) -> SequenceFiles:
    """The sequence under ``root``: every ``left/NAME`` image with a ``right/NAME``, in name
    order, the first ``limit`` of them. FileNotFoundError when ``root`` holds no pair."""
    pairs = stereo_pairs(root)
    if limit is not None:
        pairs = pairs[:limit]
    frames = tuple(PairFiles(root.name, left.stem, left, right) for left, right in pairs)
    return SequenceFiles(root.name, root, frames)


def frames_key(frames: Sequence[PairFiles]) -> list[list]:
    """What identifies the frames' contents cheaply: each file's name, size and mtime."""
    key = []
    for frame in frames:
        for path in (frame.left, frame.right):
            stat = path.stat()
            key.append([path.name, stat.st_size, stat.st_mtime_ns])
    return key
