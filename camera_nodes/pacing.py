"""When to capture: a node's capture times at its ``fps``, and the times it had to pass over.

Capture times are spaced one period apart on ``time.monotonic``. A node that falls behind
(capture plus encode slower than its rate, or a stall) never bursts to catch up: it takes the
late capture, moves its schedule to now (one more capture at once, then the rate again), and
the capture times it jumped over are **missed** (``stereo_camera_capture_slots_missed_total``).
Over a run, frames captured plus slots missed is the number of capture times the rate asked
for (within a slot or two).
"""

from __future__ import annotations

import random
import threading
import time


class Pacer:
    """The capture schedule of one node: ``fps`` frames a second (0 = as fast as possible) and
    an optional random delay of up to ``jitter_ms`` before each capture (testing)."""

    def __init__(self, fps: float, jitter_ms: float = 0.0, rng: random.Random | None = None):
        self.period = 1.0 / fps if fps > 0 else 0.0
        self.jitter_ms = jitter_ms
        self._rng = rng or random.Random()
        self._next_at: float | None = None
        self._skipped = 0.0  # capture times jumped over, in periods (fractions kept)

    @property
    def missed(self) -> int:
        """Whole capture times missed so far."""
        return int(self._skipped)

    def wait(self, stop: threading.Event) -> int:
        """Wait until the next capture time (or ``stop``); returns the slots newly missed."""
        missed_before = self.missed
        if self.period:
            now = time.monotonic()
            next_at = now if self._next_at is None else self._next_at
            if next_at > now:
                stop.wait(next_at - now)
                now = time.monotonic()
            on_time = next_at + self.period
            self._skipped += max(0.0, now - on_time) / self.period
            self._next_at = max(on_time, now)
        if self.jitter_ms > 0:
            stop.wait(self._rng.uniform(0.0, self.jitter_ms) / 1000.0)
        return self.missed - missed_before
