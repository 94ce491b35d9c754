"""The decoder's SI-Finder state per stream: one :class:`MatchTrack` for each rig it decodes.

:class:`Tracks` gives the model stage the track of a pair's stream
(:class:`~pipeline.codec.api.StreamPosition`), a fresh one when the stream started again (its
epoch changed, or its index did not grow: a camera restart, or a pair decoded again after its
batch failed), and frees a stream's track when told (:meth:`Tracks.forget`: the daemon calls it
when the rig's slot is released). At most :data:`MAX_TRACKS` are kept, the least recently used
going first, so a stream that is never forgotten (a pair of a released rig still in flight)
costs a bounded amount. Thread-safe: the model thread takes tracks, the receive thread forgets.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from pipeline.codec.api import StreamPosition
from pipeline.codec.model.si_track import MatchTrack, WarmStart

MAX_TRACKS = 1024
"""Streams whose matches are kept (the decoder's largest ``[receiver] max_rigs``); about 80 kB
each at 640x480 with the standard codecs' four block grids."""


class Tracks:
    """Each stream's :class:`MatchTrack` and where in the stream it stands."""

    def __init__(self, warm: WarmStart | None, limit: int = MAX_TRACKS) -> None:
        """``warm``: how the tracks search (None: no warm start, every pair a whole search)."""
        self.warm = warm
        self._limit = limit
        self._held: OrderedDict[str, tuple[StreamPosition, MatchTrack]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._held)

    def track(self, position: StreamPosition | None) -> MatchTrack | None:
        """The track of the pair at ``position``, moved to it (None: no warm start for it)."""
        if position is None or self.warm is None:
            return None
        with self._lock:
            last, track = self._held.pop(position.stream, (None, None))
            if track is None or last.epoch != position.epoch or position.index <= last.index:
                track = MatchTrack(self.warm)
            self._held[position.stream] = (position, track)
            while len(self._held) > self._limit:
                self._held.popitem(last=False)
            return track

    def forget(self, stream: str) -> None:
        """Free ``stream``'s track (its next pair, if any, gets a whole search)."""
        with self._lock:
            self._held.pop(stream, None)
