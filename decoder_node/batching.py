"""A dynamic batcher: group decode work by shape, release a batch when full or old enough.

Items are grouped by :attr:`StereoItem.batch_key`, so one batch has one shape (and one kind:
pairs, lone left views or lone right views never share a batch) and one weights set (model id
and hash) for each view. A group becomes a batch when it
holds ``max_batch`` items, or when its first item has waited ``max_wait_ms``; the group whose
first item is oldest goes first. The backlog is bounded: when it is full the oldest item is
dropped and counted (``docs/batching.md``). Thread-safe: the receive loop puts, a decode worker
gets.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

from prometheus_client import CollectorRegistry, Gauge, Histogram

from decoder_node.config import BatchingConfig
from decoder_node.frames import StereoItem
from decoder_node.metrics import (
    BATCH_SIZE_BUCKETS,
    LATENCY_BUCKETS,
    FrameDrops,
    metric_name,
    publish_setting,
)


class BatcherMetrics:
    """The batcher's metrics, created in the daemon's registry; ``backlog`` is the configured
    capacity, exported so that alerts compare ``pending_pairs`` with it."""

    def __init__(self, registry: CollectorRegistry, backlog: int) -> None:
        self.pending = Gauge(
            metric_name("pending_pairs"),
            "Pairs and lone views waiting for a decode batch.",
            registry=registry,
        )
        publish_setting(
            registry,
            "backlog_capacity",
            "Pairs the batcher holds ([batching] backlog); beyond it the oldest is dropped.",
            backlog,
        )
        self.batch_size = Histogram(
            metric_name("batch_size"),
            "Pairs (or lone views) per decode batch.",
            buckets=BATCH_SIZE_BUCKETS,
            registry=registry,
        )
        self.queue_wait = Histogram(
            metric_name("queue_wait_seconds"),
            "Time an item waited in the batcher, from pairing to its batch leaving.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )


class DynamicBatcher:
    """Batches of at most ``max_batch`` same-shape items, each released within ``max_wait_ms``."""

    def __init__(
        self,
        cfg: BatchingConfig,
        drops: FrameDrops,
        registry: CollectorRegistry,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_batch = cfg.max_batch
        self._max_wait = cfg.max_wait_ms / 1000.0
        self._backlog = cfg.backlog
        self._drops = drops
        self._clock = clock
        self._metrics = BatcherMetrics(registry, cfg.backlog)
        self._groups: OrderedDict[Hashable, list[StereoItem]] = OrderedDict()
        self._size = 0
        self._cond = threading.Condition()

    def __len__(self) -> int:
        with self._cond:
            return self._size

    def put(self, item: StereoItem) -> None:
        """Queue one item; if the backlog is full, drop the oldest queued item first."""
        with self._cond:
            if self._size >= self._backlog:
                self._drop_oldest()
            item.queued_mono = self._clock()
            self._groups.setdefault(item.batch_key, []).append(item)
            self._size += 1
            self._metrics.pending.set(self._size)
            self._cond.notify()

    def get(self, timeout: float, flush: bool = False) -> list[StereoItem] | None:
        """The next ready batch, waiting at most ``timeout`` seconds; None if none is ready.

        With ``flush`` a group is ready at once, whatever its size or age (used to drain).
        """
        deadline = self._clock() + timeout
        with self._cond:
            while True:
                now = self._clock()
                key, wake_at = self._ready_group(now, flush)
                if key is not None:
                    return self._take(key, now)
                remaining = min(deadline, wake_at) - now
                if deadline - now <= 0:
                    return None
                self._cond.wait(max(remaining, 0.0005))

    def take_all(self) -> list[StereoItem]:
        """Remove and return every queued item, oldest first (for a shutdown that gives up)."""
        with self._cond:
            items = sorted(
                (i for group in self._groups.values() for i in group), key=lambda i: i.queued_mono
            )
            self._groups.clear()
            self._size = 0
            self._metrics.pending.set(0)
            return items

    def _ready_group(self, now: float, flush: bool) -> tuple[Hashable | None, float]:
        """The key of the ready group with the oldest head, else None and when one will be."""
        best, best_head, wake_at = None, float("inf"), float("inf")
        for key, items in self._groups.items():
            head = items[0].queued_mono
            due = head + self._max_wait
            if flush or len(items) >= self._max_batch or due <= now:
                if head < best_head:
                    best, best_head = key, head
            else:
                wake_at = min(wake_at, due)
        return best, wake_at

    def _take(self, key: Hashable, now: float) -> list[StereoItem]:
        items = self._groups[key]
        batch, rest = items[: self._max_batch], items[self._max_batch :]
        if rest:
            self._groups[key] = rest
        else:
            del self._groups[key]
        self._size -= len(batch)
        self._metrics.pending.set(self._size)
        self._metrics.batch_size.observe(len(batch))
        for item in batch:
            self._metrics.queue_wait.observe(max(0.0, now - item.queued_mono))
        return batch

    def _drop_oldest(self) -> None:
        key = min(self._groups, key=lambda k: self._groups[k][0].queued_mono)
        items = self._groups[key]
        victim = items.pop(0)
        if not items:
            del self._groups[key]
        self._size -= 1
        for frame in victim.frames:
            self._drops.drop(frame.rig, frame.side, "backlog_full")
