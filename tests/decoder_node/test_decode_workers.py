"""Decode workers: overlap of entropy decoding and the model, and per-item retry on bad input."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time

import av
import cv2
import numpy as np
import pytest

from decoder_node.batching import DynamicBatcher
from decoder_node.config import BatchingConfig
from decoder_node.decode_workers import DecodeWorkers
from decoder_node.frames import DecodedItem, StereoItem
from decoder_node.sinks import SinkSet
from decoder_node.sinks.base import Sink
from pipeline.codec import Role
from pipeline.codec.encode import StandardEncoder
from tests.conftest import natural_image
from tests.decoder_node.conftest import holding
from tests.decoder_node.video_camera import VideoCamera, direct_decode, received

pytestmark = pytest.mark.timeout(60)


class Collect(Sink):
    name = "collect"

    def __init__(self) -> None:
        self.items: list[DecodedItem] = []

    def write(self, decoded: DecodedItem) -> None:
        self.items.append(decoded)


def run_workers(registry, drops, decoder, items, max_batch=4):
    batcher = DynamicBatcher(BatchingConfig(max_batch=max_batch, max_wait_ms=5.0), drops, registry)
    sink = Collect()
    workers = DecodeWorkers(decoder, batcher, SinkSet([sink], registry), drops, registry, 0.01)
    workers.start()
    for item in items:
        batcher.put(item)
    assert workers.drain(timeout=10.0)
    return sink.items


def pair(make_frame, seq, bad_left=False, bad_right=False) -> StereoItem:
    return StereoItem(
        "rig0", make_frame("left", seq, bad=bad_left), make_frame("right", seq, bad=bad_right), 0.0
    )


def test_a_batch_is_decoded_and_counted(registry, drops, make_frame, fake_decoder_cls, metric):
    decoder = fake_decoder_cls()
    out = run_workers(registry, drops, decoder, [pair(make_frame, s) for s in range(4)])
    assert [d.item.seq for d in out] == [0, 1, 2, 3]
    assert all(int(d.left[0, 0, 0]) == 200 and int(d.left_alone[0, 0, 0]) == 100 for d in out)
    assert ("entropy_decode", 4) in decoder.calls and ("reconstruct", 4) in decoder.calls
    assert metric("stereo_decoder_frames_decoded_total", rig="rig0", side="left") == 4
    assert metric("stereo_decoder_stage_seconds_count", stage="si_net") >= 1
    assert all(d.timings["si_net"] == 0.004 and "entropy_decode" in d.timings for d in out)


def test_one_bad_frame_in_a_batch_loses_nothing_else(
    registry, drops, make_frame, fake_decoder_cls, metric
):
    items = [pair(make_frame, 0), pair(make_frame, 1, bad_right=True), pair(make_frame, 2)]
    out = run_workers(registry, drops, fake_decoder_cls(), items)
    got = {(d.item.seq, d.item.right is not None) for d in out}
    assert got == {(0, True), (1, False), (2, True)}
    lone_left = next(d for d in out if d.item.seq == 1)
    assert int(lone_left.left[0, 0, 0]) == 100 and lone_left.right is None
    dropped = metric(
        "stereo_decoder_frames_dropped_total", rig="rig0", side="right", reason="bad_bitstream"
    )
    assert dropped == 1
    assert metric("stereo_decoder_frames_decoded_total", rig="rig0", side="left") == 3
    assert metric("stereo_decoder_frames_decoded_total", rig="rig0", side="right") == 2
    assert metric("stereo_decoder_batch_retries_total") >= 1


def test_a_reconstruct_failure_is_retried_item_by_item(
    registry, drops, make_frame, fake_decoder_cls, metric
):
    def fail_batches(requests):
        if len(requests) > 1:
            raise RuntimeError("cuDNN error: an execution failed")

    flaky = fake_decoder_cls(before_reconstruct=fail_batches)
    out = run_workers(registry, drops, flaky, [pair(make_frame, s) for s in range(3)])
    assert sorted(d.item.seq for d in out) == [0, 1, 2]
    assert metric("stereo_decoder_batch_retries_total") >= 1


def test_out_of_memory_halves_the_batch_until_it_fits(
    registry, drops, make_frame, fake_decoder_cls, metric
):
    import torch

    def out_of_memory_beyond_2(requests):
        if len(requests) > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")

    decoder = fake_decoder_cls(before_reconstruct=out_of_memory_beyond_2)
    items = [pair(make_frame, s) for s in range(8)]
    out = run_workers(registry, drops, decoder, items, max_batch=8)
    assert sorted(d.item.seq for d in out) == list(range(8))  # nothing lost
    assert metric("stereo_decoder_batch_oom_splits_total") == 3  # 8 -> 4 + 4, each -> 2 + 2
    assert metric("stereo_decoder_batch_retries_total") == 0
    assert ("decode_batch", 4) in decoder.calls and ("reconstruct", 2) in decoder.calls


def test_entropy_decode_of_the_next_batch_overlaps_the_model(
    registry, drops, make_frame, fake_decoder_cls
):
    model_busy = threading.Event()
    overlapped = threading.Event()

    class Slow(fake_decoder_cls):
        def entropy_decode(self, requests):
            if model_busy.is_set():
                overlapped.set()
            return super().entropy_decode(requests)

        def reconstruct(self, requests):
            model_busy.set()
            time.sleep(0.1)
            model_busy.clear()
            return super().reconstruct(requests)

    items = [pair(make_frame, s) for s in range(4)]
    out = run_workers(registry, drops, Slow(), items, max_batch=1)
    assert len(out) == 4
    assert overlapped.is_set()


def test_abort_hands_back_a_waiting_batch(registry, drops, make_frame, fake_decoder_cls):
    release, in_model = threading.Event(), threading.Event()

    stuck = fake_decoder_cls(before_reconstruct=holding(in_model, release, 5.0))
    batcher = DynamicBatcher(BatchingConfig(max_batch=1, max_wait_ms=0.0), drops, registry)
    workers = DecodeWorkers(stuck, batcher, SinkSet([Collect()], registry), drops, registry, 0.01)
    workers.start()
    for s in range(3):
        batcher.put(pair(make_frame, s))
    deadline = time.monotonic() + 10.0  # batch 0 in the model, 1 and 2 taken from the batcher
    while not (in_model.is_set() and len(batcher) == 0) and time.monotonic() < deadline:
        time.sleep(0.01)
    threading.Timer(0.3, release.set).start()
    left_over = workers.abort(timeout=5.0)
    assert not workers.alive
    # batch 0 was in the model when abort came; 1 and 2 were taken but never decoded
    assert sorted(i.seq for i in left_over) == [1, 2]
    assert len(batcher) == 0


def test_a_bug_inside_a_standard_codec_is_a_decode_error_logged_with_its_traceback(
    registry, drops, make_frame, decoder, metric, monkeypatch, caplog
):
    encoder, image = StandardEncoder("jpeg"), natural_image(16, 24, 3)
    views = {
        side: dataclasses.replace(make_frame(side, 0), payload=encoder.encode(image, role, 50))
        for side, role in (("left", Role.PRIMARY), ("right", Role.SIDE))
    }

    def bug(*args, **kwargs):
        raise TypeError("a bug inside the decode")

    monkeypatch.setattr(cv2, "imdecode", bug)
    with caplog.at_level(logging.ERROR, logger="decoder_node.decode_workers"):
        out = run_workers(registry, drops, decoder, [StereoItem("rig0", *views.values(), 0.0)])
    assert out == []
    dropped = "stereo_decoder_frames_dropped_total"
    for side in views:
        assert metric(dropped, rig="rig0", side=side, reason="decode_error") == 1
        assert metric(dropped, rig="rig0", side=side, reason="bad_bitstream") == 0
    traced = [r for r in caplog.records if r.exc_info and r.exc_info[0] is TypeError]
    assert len(traced) == 2, caplog.text  # each view, decoded alone, failed once
    assert ", in bug\n" in caplog.text  # the traceback reaches the frame that raised


def test_video_views_are_never_decoded_again_through_retries_and_split_pairs(
    registry, drops, decoder, metric, monkeypatch
):
    left, right = VideoCamera("left").take(3), VideoCamera("right", seed=1).take(3)
    lefts, rights = direct_decode(left), direct_decode(right)
    items = [
        StereoItem("rig0", received(lm, li), received(rm, ri), 0.0)
        for lm, li, rm, ri in zip(left, lefts, right, rights, strict=True)
    ]
    broken = items[1].right
    items[1].right = dataclasses.replace(broken, pixels=broken.pixels[:-2])  # not its size

    def no_second_decode(*args, **kwargs):
        raise AssertionError("a video packet was decoded again after receive")

    monkeypatch.setattr(av.CodecContext, "create", no_second_decode)
    out = run_workers(registry, drops, decoder, items, max_batch=4)
    assert metric("stereo_decoder_batch_retries_total") == 1  # the batch of 3, then one by one
    by_seq = {d.item.seq: d for d in out}
    assert sorted(by_seq) == [0, 1, 2]
    assert by_seq[1].item.right is None  # the pair was split: its good view decoded alone
    for seq, decoded in by_seq.items():
        np.testing.assert_array_equal(decoded.left_alone, lefts[seq])
        if decoded.right is not None:
            np.testing.assert_array_equal(decoded.right, rights[seq])
        assert decoded.timings["stream_decode"] == 0.0  # as the frames say: none timed here
    dropped = "stereo_decoder_frames_dropped_total"
    assert metric(dropped, rig="rig0", side="right", reason="bad_bitstream") == 1
