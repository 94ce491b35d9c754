"""What the demo shows while it waits: a status line, and when a counter has stopped moving."""

from __future__ import annotations

import sys
import time


class Stall:
    """Whether a counter has stopped moving for ``seconds``."""

    def __init__(self, seconds: float, now: float) -> None:
        self.seconds = seconds
        self._value = -1
        self._since = now

    def stalled(self, value: int, now: float) -> bool:
        """Record ``value`` at time ``now``; True once it has not changed for ``seconds``."""
        if value != self._value:
            self._value, self._since = value, now
        return now - self._since >= self.seconds


class Progress:
    """One updating status line (a new line every few seconds when not on a terminal)."""

    def __init__(self) -> None:
        self._tty = sys.stderr.isatty()
        self._last = 0.0

    def show(self, text: str, final: bool = False) -> None:
        """Print ``text`` as the current status."""
        now = time.monotonic()
        if self._tty:
            sys.stderr.write(f"\r\x1b[2K{text}" + ("\n" if final else ""))
        elif final or now - self._last >= 5.0:
            sys.stderr.write(text + "\n")
            self._last = now
        sys.stderr.flush()
