"""A minimal progress bar on stderr (no third-party dependency)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """Draws ``[#####.....] done/total  eta  label`` in place; ``close()`` ends the line."""

    def __init__(self, total: int, stream: TextIO | None = None, width: int = 30) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self._start = time.monotonic()

    def advance(self, label: str = "", steps: int = 1) -> None:
        """Count ``steps`` finished units of work and redraw with ``label``."""
        self.done = min(self.done + steps, self.total)
        filled = round(self.width * self.done / self.total)
        elapsed = time.monotonic() - self._start
        eta = elapsed / self.done * (self.total - self.done) if self.done else 0.0
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\r[{bar}] {self.done}/{self.total} eta {eta:5.0f}s {label:<40.40}")
        self.stream.flush()

    def close(self) -> None:
        """Finish the line."""
        self.stream.write("\n")
        self.stream.flush()
