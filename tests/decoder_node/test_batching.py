"""The dynamic batcher: max size, max wait from the first item, grouping by shape, backlog."""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest

from decoder_node.batching import DynamicBatcher
from decoder_node.config import BatchingConfig
from decoder_node.frames import StereoItem

pytestmark = pytest.mark.timeout(60)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def item(make_frame, seq: int, shape=(16, 24), left=True, right=True) -> StereoItem:
    return StereoItem(
        "rig0",
        make_frame("left", seq, shape=shape) if left else None,
        make_frame("right", seq, shape=shape) if right else None,
        ready_mono=0.0,
    )


def batcher(registry, drops, clock=None, **kw) -> DynamicBatcher:
    cfg = BatchingConfig(**{"max_batch": 3, "max_wait_ms": 50.0, "backlog": 100, **kw})
    return DynamicBatcher(cfg, drops, registry, clock=clock or time.monotonic)


def test_full_batch_is_released_at_once(registry, drops, make_frame, metric):
    b = batcher(registry, drops, clock=FakeClock())
    for seq in range(4):
        b.put(item(make_frame, seq))
    batch = b.get(timeout=0.0)
    assert [i.seq for i in batch] == [0, 1, 2]
    assert len(b) == 1
    assert metric("stereo_decoder_batch_size_count") == 1
    assert metric("stereo_decoder_pending_pairs") == 1


def test_partial_batch_waits_max_wait_from_its_first_item(registry, drops, make_frame):
    clock = FakeClock()
    b = batcher(registry, drops, clock=clock)
    b.put(item(make_frame, 0))
    clock.now += 0.03
    b.put(item(make_frame, 1))
    assert b.get(timeout=0.0) is None
    clock.now += 0.0201  # 50 ms after the first item, 20 ms after the second
    assert [i.seq for i in b.get(timeout=0.0)] == [0, 1]


def test_get_blocks_until_max_wait_in_real_time(registry, drops, make_frame):
    b = batcher(registry, drops, max_wait_ms=80.0)
    b.put(item(make_frame, 0))
    start = time.monotonic()
    batch = b.get(timeout=5.0)
    waited = time.monotonic() - start
    assert [i.seq for i in batch] == [0]
    assert 0.06 <= waited < 2.0  # max_wait, not the 5 s timeout (generous: CI is loaded)


def test_get_wakes_when_another_thread_fills_a_batch(registry, drops, make_frame):
    b = batcher(registry, drops, max_wait_ms=10_000.0)
    b.put(item(make_frame, 0))

    def fill() -> None:
        time.sleep(0.05)
        b.put(item(make_frame, 1))
        b.put(item(make_frame, 2))

    threading.Thread(target=fill).start()
    start = time.monotonic()
    assert [i.seq for i in b.get(timeout=2.0)] == [0, 1, 2]
    assert time.monotonic() - start < 5.0  # woken by the fill, not max_wait (10 s)


def test_batches_are_grouped_by_shape_and_kind(registry, drops, make_frame):
    clock = FakeClock()
    b = batcher(registry, drops, clock=clock)
    b.put(item(make_frame, 0, shape=(16, 24)))
    b.put(item(make_frame, 1, shape=(32, 32)))
    b.put(item(make_frame, 2, shape=(16, 24), right=False))
    b.put(item(make_frame, 3, shape=(16, 24)))
    clock.now += 1.0
    batches = [b.get(timeout=0.0) for _ in range(3)]
    assert [[i.seq for i in batch] for batch in batches] == [[0, 3], [1], [2]]
    for batch in batches:
        assert len({i.shape_key for i in batch}) == 1
    assert b.get(timeout=0.0) is None


def test_oldest_ready_group_goes_first(registry, drops, make_frame):
    clock = FakeClock()
    b = batcher(registry, drops, clock=clock)
    b.put(item(make_frame, 0, shape=(32, 32)))
    clock.now += 0.01
    for seq in range(1, 4):
        b.put(item(make_frame, seq))
    clock.now += 0.05
    assert [i.seq for i in b.get(timeout=0.0)] == [0]


def test_full_backlog_drops_the_oldest_and_counts_both_views(registry, drops, make_frame, metric):
    clock = FakeClock()
    b = batcher(registry, drops, clock=clock, backlog=2, max_batch=10)
    for seq in range(3):
        clock.now += 0.001
        b.put(item(make_frame, seq))
    assert len(b) == 2
    for side in ("left", "right"):
        assert (
            metric(
                "stereo_decoder_frames_dropped_total", rig="rig0", side=side, reason="backlog_full"
            )
            == 1
        )
    assert [i.seq for i in b.get(timeout=0.0, flush=True)] == [1, 2]


def test_flush_releases_a_young_partial_batch(registry, drops, make_frame):
    b = batcher(registry, drops, clock=FakeClock())
    b.put(item(make_frame, 0))
    assert b.get(timeout=0.0) is None
    assert [i.seq for i in b.get(timeout=0.0, flush=True)] == [0]


def test_queue_wait_is_observed_per_item(registry, drops, make_frame, metric):
    clock = FakeClock()
    b = batcher(registry, drops, clock=clock)
    b.put(item(make_frame, 0))
    clock.now += 0.06
    b.get(timeout=0.0)
    assert metric("stereo_decoder_queue_wait_seconds_count") == 1
    assert abs(metric("stereo_decoder_queue_wait_seconds_sum") - 0.06) < 1e-9


def test_frames_of_different_weights_sets_never_share_a_batch(registry, drops, make_frame):
    clock = FakeClock()
    b = batcher(registry, drops, clock=clock)
    for seq, digest in enumerate(("aa" * 8, "bb" * 8, "aa" * 8, "bb" * 8)):
        frames = [
            dataclasses.replace(make_frame(s, seq), weights_hash=digest) for s in ("left", "right")
        ]
        b.put(StereoItem("rig0", *frames, ready_mono=0.0))
    clock.now += 1.0
    batches = [[(i.seq, i.left.weights_hash) for i in b.get(timeout=0.0)] for _ in range(2)]
    assert batches == [[(0, "aa" * 8), (2, "aa" * 8)], [(1, "bb" * 8), (3, "bb" * 8)]]
