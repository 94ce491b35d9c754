"""The bounded queue between capture and send. Drop policy: when full, drop the OLDEST frame.

The newest frame is the most useful to a live decoder, so a slow or absent decoder costs old
frames, never the capture loop's time: ``put`` never blocks. The caller counts each dropped
frame (``reason="queue_full"``).

Video streams: a frame that is not a keyframe decodes only on top of the frames of its stream
before it, back to the last keyframe. So when the queue drops a video frame (full, or
:meth:`DropOldestQueue.lost` after a send that lost it), every frame of the same stream after
it up to its next keyframe is undecodable too: the queue drops them with it and hands each to
``on_unusable`` (counted ``reason="awaiting_keyframe"``). If no keyframe of that stream is
queued, the stream waits for one: its next frames are dropped the same way until a keyframe is
put, and :meth:`DropOldestQueue.take_keyframe_request` tells the encoder side to code the next
frame as one (``VideoEncoder.force_keyframe``). Image codecs' frames have no stream link: each
is independent, and the queue behaves exactly as a plain drop-oldest queue.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class StreamLink:
    """Where a queued frame sits in a video stream: ``stream_id``, and whether it is a
    ``keyframe`` (decodes on its own) or depends on the stream's frames before it."""

    stream_id: int
    keyframe: bool


def independent(item: object) -> StreamLink | None:
    """The link of a frame that depends on no other (every image codec's): None."""
    return None


class DropOldestQueue(Generic[T]):
    """A thread-safe FIFO of at most ``maxsize`` items that drops its oldest item when full.

    ``link`` gives an item's :class:`StreamLink`, or None for an independent item (the
    default for every item); ``on_unusable`` is called, outside the queue's lock, with each
    item dropped because a frame it depends on was dropped.
    """

    def __init__(
        self,
        maxsize: int,
        link: Callable[[T], StreamLink | None] = independent,
        on_unusable: Callable[[T], None] | None = None,
    ) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be >= 1, got {maxsize}")
        self._items: deque[T] = deque()
        self._maxsize = maxsize
        self._cond = threading.Condition()
        self._link = link
        self._on_unusable = on_unusable
        self._waiting: set[int] = set()
        """Streams whose last frame was dropped: their frames are dropped until a keyframe."""
        self._keyframe_requested = False

    def put(self, item: T) -> T | None:
        """Append ``item``; never blocks. Returns the item dropped to make room, or None.

        A non-keyframe of a stream waiting for a keyframe is not queued (it goes to
        ``on_unusable``); dropping the oldest item to make room drops its dependants too.
        """
        unusable: list[T] = []
        with self._cond:
            dropped = None
            link = self._link(item)
            if link is not None and link.keyframe:
                self._waiting.discard(link.stream_id)
            if link is not None and link.stream_id in self._waiting:
                unusable.append(item)
            else:
                self._items.append(item)
                self._cond.notify()
                if len(self._items) > self._maxsize:
                    dropped = self._items.popleft()
                    unusable = self._drop_dependants(dropped)
        self._report(unusable)
        return dropped

    def lost(self, item: T) -> None:
        """``item``, taken with :meth:`get`, never reached the decoder (a failed send): its
        queued dependants are dropped as after a drop to make room."""
        with self._cond:
            unusable = self._drop_dependants(item)
        self._report(unusable)

    def take_keyframe_request(self) -> bool:
        """True once after a dropped frame left its stream waiting for a keyframe: the
        encoder should code its next frame as one. Read by the thread that encodes."""
        with self._cond:
            requested, self._keyframe_requested = self._keyframe_requested, False
            return requested

    def get(self, timeout: float) -> T | None:
        """The oldest item, waiting up to ``timeout`` seconds; None if still empty."""
        with self._cond:
            if not self._items:
                self._cond.wait(timeout)
            return self._items.popleft() if self._items else None

    def drain(self) -> list[T]:
        """Remove and return everything queued."""
        with self._cond:
            items = list(self._items)
            self._items.clear()
            return items

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)

    def _drop_dependants(self, dropped: T) -> list[T]:
        """Remove the queued items of ``dropped``'s stream before that stream's next queued
        keyframe (under the lock); with none queued, the stream waits for a keyframe."""
        link = self._link(dropped)
        if link is None:
            return []
        unusable: list[T] = []
        kept: deque[T] = deque()
        chained = True
        for item in self._items:
            other = self._link(item)
            if chained and other is not None and other.stream_id == link.stream_id:
                chained = not other.keyframe
                if chained:
                    unusable.append(item)
                    continue
            kept.append(item)
        self._items = kept
        if chained:
            self._waiting.add(link.stream_id)
            self._keyframe_requested = True
        return unusable

    def _report(self, unusable: list[T]) -> None:
        if self._on_unusable is not None:
            for item in unusable:
                self._on_unusable(item)
