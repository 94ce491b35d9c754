"""The bounded queue between capture and send. Drop policy: when full, drop the OLDEST frame.

The newest frame is the most useful to a live decoder, so a slow or absent decoder costs old
frames, never the capture loop's time: ``put`` never blocks. The caller counts each dropped
frame (``reason="queue_full"``).
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class DropOldestQueue(Generic[T]):
    """A thread-safe FIFO of at most ``maxsize`` items that drops its oldest item when full."""

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be >= 1, got {maxsize}")
        self._items: deque[T] = deque()
        self._maxsize = maxsize
        self._cond = threading.Condition()

    def put(self, item: T) -> T | None:
        """Append ``item``; never blocks. Returns the item dropped to make room, or None."""
        with self._cond:
            dropped = self._items.popleft() if len(self._items) >= self._maxsize else None
            self._items.append(item)
            self._cond.notify()
            return dropped

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
