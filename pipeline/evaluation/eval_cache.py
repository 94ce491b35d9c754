"""The evaluation's cache: work that a run with new SI-Net weights would redo unchanged.

Entries are files named by a hash of everything their contents depend on (the frames' files,
the codec and setting, the SI-Finder's settings, the weights of any SI-Net used, the library
versions), so a changed input is a new entry, never a stale one. A sequence's video streams and
their SI-Finder results are kept as ``.npz`` (the SI-Finder's result does not depend on the
SI-Net), the rows of an image codec, SI-Net included, as ``.json`` (their SI-Net is
``si-std1``, which the video SI-Net's training leaves alone). A file that cannot be read is
recomputed. ``CACHE_VERSION`` changes when what is stored changes.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

CACHE_VERSION = 1


class EvalCache:
    """Entries under one folder, one subfolder per sequence."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sequence: str, label: str, key: dict, suffix: str) -> Path:
        """The entry of ``key`` (``label`` makes the name readable: ``h264-crf28``)."""
        text = json.dumps({"version": CACHE_VERSION, **key}, sort_keys=True, default=str)
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        return self.root / sequence / f"{label}-{digest}{suffix}"

    def load_rows(self, path: Path) -> list[dict] | None:
        """The rows stored at ``path`` (None: not there or unreadable)."""
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return None

    def save_rows(self, path: Path, rows: list[dict]) -> None:
        """Store ``rows`` at ``path`` (atomically: a reader never sees half a file)."""
        _atomic(path, lambda part: part.write_text(json.dumps(rows)))

    def load_arrays(self, path: Path) -> dict[str, np.ndarray] | None:
        """The arrays stored at ``path`` (None: not there or unreadable)."""
        try:
            with np.load(path) as stored:
                return {name: stored[name] for name in stored.files}
        except (OSError, ValueError, EOFError):
            return None

    def save_arrays(self, path: Path, arrays: dict[str, np.ndarray]) -> None:
        """Store ``arrays`` at ``path`` as an uncompressed ``.npz`` (atomically)."""

        def write(part: Path) -> None:
            with part.open("wb") as file:
                np.savez(file, **arrays)

        _atomic(path, write)


def _atomic(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    write(part)
    os.replace(part, path)
