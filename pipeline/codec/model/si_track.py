"""SI-Finder warm start: in a stream of pairs, search each block near its previous match.

In a stream (one rig's pairs, in order) the matches move little from frame to frame, so a
:class:`MatchTrack` searches each block of a pair only within :attr:`WarmStart.radius` of
the match that block had in the stream's previous pair (:func:`~pipeline.codec.model.si_finder.
find_matches`: the same scores, Pearson correlation times the Gaussian prior, on fewer
candidates), and searches a block in full where its window missed: its best candidate on the
window's edge (the match moved further), or a correlation more than :attr:`WarmStart.drop`
below the previous one (the content changed). The whole image is searched in full (a *full*
search) for a stream's first pair, after a change of image or side-view size or of the finder's
settings, and every :attr:`WarmStart.refresh` pairs (to catch a better match far away from a
window that still looks good).

A track holds one stream's state; the decoder keeps one per stream and frees it with the stream
(:class:`~pipeline.codec.decode.tracks.Tracks`). Not thread-safe: one stream's pairs are
searched one after the other.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Literal

from torch import Tensor

from pipeline.codec.model.si_finder import Found, SIFinderConfig, find_matches

Search = Literal["full", "warm"]
"""How a pair was searched: ``full`` (no usable state, or a refresh was due), ``warm`` (around
the previous matches, the misses in full)."""


@dataclass(frozen=True)
class WarmStart:
    """How a :class:`MatchTrack` searches: ``rows`` and ``columns``, the radius in
    full-resolution pixels around each previous match (a fixed rig's matches keep their rows;
    their columns follow the depth of what the block shows; with ``coarse``, the
    half-resolution search looks half as far, in its own pixels, and refines as usual); a full
    search every ``refresh`` pairs; ``drop``: the fall in a block's correlation that counts as
    a miss. Four rows, not two: a block with little texture has its best match wander a
    few rows from pair to pair, and two rows sent half the misses of a 5 fps 640x480 H.264
    stream to a full search (``euroc_v1_01``: 464 against 242 blocks a pair, the warm search
    22% faster, X_hat within 0.003 dB of the full search's either way; docs/benchmarks.md)."""

    rows: int = 4
    columns: int = 8
    refresh: int = 30
    drop: float = 0.05

    def __post_init__(self) -> None:
        if min(self.rows, self.columns, self.refresh) < 1 or not 0.0 <= self.drop <= 2.0:
            raise ValueError(f"warm start: radii and refresh at least 1, drop in [0, 2]: {self}")

    @property
    def radius(self) -> tuple[int, int]:
        """(rows, columns)."""
        return self.rows, self.columns


DEFAULT_WARM_START = WarmStart()
"""The decoder's warm start unless configured otherwise (``[codec] si_warm_start``)."""


class MatchTrack:
    """One stream's matches, and the search policy of the module docstring."""

    def __init__(self, warm: WarmStart | None = None) -> None:
        self.warm = warm or WarmStart()
        self._key: tuple | None = None
        self._found: Found | None = None
        self._since_full = 0
        self.last: Search | None = None
        """How the last pair was searched."""

    def find(
        self,
        x_dec: Tensor,
        side: Tensor,
        config: SIFinderConfig,
        executor: Executor | None = None,
    ) -> Found:
        """The SI-Finder's output for the stream's next pair (float32 tensors, no gradients:
        :func:`pipeline.codec.model.fusion.find` calls it so); ``executor``: threads for its
        block grids (:func:`~pipeline.codec.model.si_finder.find_matches`)."""
        key = (tuple(x_dec.shape), tuple(side.shape), config)
        warm = key == self._key and self._since_full + 1 < self.warm.refresh
        previous = self._found if warm else None
        radius, drop = self.warm.radius, self.warm.drop
        found = find_matches(x_dec, side, config, previous, radius, drop, executor)
        self._key, self._found = key, found
        self._since_full = self._since_full + 1 if warm else 0
        self.last = "warm" if warm else "full"
        return found
