"""Holds a target bitrate by picking the codec quality per frame from recent frame sizes."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence


class QualityController:
    """A step controller over the codec's quality levels (low rate to high rate).

    It keeps the sizes of the last ``window`` frames encoded at the current quality and
    estimates the bitrate as ``mean bytes * 8 * frame rate``. Above ``target * (1 + band)`` it
    steps one quality down; below ``target * (1 - 2 * band)`` it steps one up (a wider band
    upwards, so it does not oscillate around a level that is just too big). After a step the
    window restarts, and it waits for ``min_frames`` frames at the new level before deciding
    again. The frame rate is the configured one, or the measured one when pacing is off.
    """

    def __init__(
        self,
        qualities: Sequence[int],
        target_kbps: float,
        fps: float,
        initial: int | None = None,
        window: int = 8,
        min_frames: int = 2,
        band: float = 0.1,
    ) -> None:
        if not qualities:
            raise ValueError("no qualities to choose from")
        if target_kbps <= 0:
            raise ValueError(f"target_kbps must be > 0, got {target_kbps}")
        self.qualities = tuple(sorted(qualities))
        self.target_kbps, self.fps, self.band = target_kbps, fps, band
        self.min_frames = min_frames
        start = self.qualities[len(self.qualities) // 2] if initial is None else initial
        self._index = self.qualities.index(start)
        self._sizes: deque[int] = deque(maxlen=window)
        self._times: deque[float] = deque(maxlen=window)

    @property
    def quality(self) -> int:
        """The quality to encode the next frame with."""
        return self.qualities[self._index]

    def estimate_kbps(self) -> float | None:
        """The bitrate the recent frames imply, or None before there is enough to tell."""
        if len(self._sizes) < self.min_frames:
            return None
        rate = self.fps
        if rate <= 0:
            span = self._times[-1] - self._times[0]
            rate = (len(self._times) - 1) / span if span > 0 else 0.0
        return sum(self._sizes) / len(self._sizes) * 8.0 * rate / 1000.0

    def observe(self, nbytes: int, now: float) -> int:
        """Record one encoded frame's size (at ``now``, monotonic s); returns the next quality."""
        self._sizes.append(nbytes)
        self._times.append(now)
        kbps = self.estimate_kbps()
        if kbps is None:
            return self.quality
        step = 0
        if kbps > self.target_kbps * (1.0 + self.band) and self._index > 0:
            step = -1
        elif kbps < self.target_kbps * (1.0 - 2.0 * self.band):
            step = 1 if self._index < len(self.qualities) - 1 else 0
        if step:
            self._index += step
            self._sizes.clear()
            self._times.clear()
        return self.quality
