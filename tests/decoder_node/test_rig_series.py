"""A rig's series go with its slot (issue 27): hundreds of rig ids, one after another, through
two slots leave the decoder's series bounded; a count of a released rig still in flight brings
none back."""

from __future__ import annotations

import dataclasses
import time

import pytest
from prometheus_client import CollectorRegistry

from decoder_node.app import DecoderApp
from decoder_node.config import NullSinkConfig, ReceiverConfig
from decoder_node.metrics import FrameDrops, final_counts
from pipeline.codec.api import StreamPosition
from pipeline.wire import encode_frame
from stereo_app.demo.processes import wait_until
from tests.decoder_node.test_app import config, start_running, stop_running

pytestmark = pytest.mark.timeout(180)

RIGS = 300
IDLE_S = 0.1


def series(registry: CollectorRegistry) -> int:
    """Samples in the registry: what one scrape stores as series."""
    return sum(len(family.samples) for family in registry.collect())


def rig_labels(registry: CollectorRegistry) -> set[str]:
    """Every ``rig`` label value in the registry."""
    return {
        sample.labels["rig"]
        for family in registry.collect()
        for sample in family.samples
        if "rig" in sample.labels
    }


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


def wait_counted(registry: CollectorRegistry, what: str, rig: str, timeout: float = 10.0) -> bool:
    """Wait until ``rig``'s right view is counted in ``stereo_decoder_frames_<what>_total``."""
    name = f"stereo_decoder_frames_{what}_total"
    return wait_until(lambda: value(registry, name, rig=rig, side="right") == 1, timeout, 0.002)


def send_pair(push, make_frame, rig: str) -> None:
    for side in ("left", "right"):
        frame = make_frame(side, 0, rig=rig)
        push.send_multipart(encode_frame(frame.header, frame.payload))


def test_hundreds_of_rig_ids_through_two_slots_keep_the_series_bounded(
    tmp_path, make_frame, fake_decoder_cls
):
    receiver = ReceiverConfig(bind="tcp://127.0.0.1:*", poll_ms=5.0, max_rigs=2, rig_idle_s=IDLE_S)
    sinks = (NullSinkConfig(type="none"),)
    app = DecoderApp(
        dataclasses.replace(config(tmp_path), receiver=receiver, sinks=sinks),
        decoder=fake_decoder_cls(),
    )
    registry = app.registry
    stop, codes, runner, ctx, push = start_running(app)
    accepted: list[float] = []  # when each rig's pair was seen received (monotonic)
    try:
        for i in range(RIGS):
            if i >= 2:  # the rig two back has been silent IDLE_S: its slot is free
                time.sleep(max(0.0, accepted[i - 2] + IDLE_S * 1.2 - time.monotonic()))
            send_pair(push, make_frame, f"r{i}")
            assert wait_counted(registry, "received", f"r{i}"), i
            accepted.append(time.monotonic())
            if i == 1:  # both slots taken, both pairs decoded: every series there will be
                # (the first decoded view imports the codec registry, torch: seconds when busy)
                assert wait_counted(registry, "decoded", "r1", timeout=60.0)
                full = series(registry)
        assert wait_counted(registry, "decoded", f"r{RIGS - 1}")
        assert value(registry, "stereo_decoder_rig_slots_released_total") == RIGS - 2
        refused = value(registry, "stereo_decoder_malformed_messages_total", reason="too_many_rigs")
        assert refused == 0
        assert rig_labels(registry) == {f"r{RIGS - 2}", f"r{RIGS - 1}"}
        assert series(registry) <= full
    finally:
        stop_running(stop, runner, ctx, push)
    assert codes == [0]


def test_a_count_of_a_released_rig_brings_no_series_back_and_a_returning_rig_starts_at_zero():
    registry = CollectorRegistry()
    drops = FrameDrops(registry)
    dropped = "stereo_decoder_frames_dropped_total"
    labels = {"rig": "a", "side": "left", "reason": "decode_error"}
    drops.rigs.add("a")
    drops.drop("a", "left", "decode_error")
    assert registry.get_sample_value(dropped, labels) == 1
    drops.rigs.release("a")
    drops.drop("a", "left", "decode_error")  # a frame still in flight at the release
    assert rig_labels(registry) == set()
    drops.rigs.add("a")
    assert registry.get_sample_value(dropped, labels) == 0


def test_the_stop_line_still_counts_the_frames_of_released_rigs():
    registry = CollectorRegistry()
    drops = FrameDrops(registry)
    for rig in ("a", "b", "a"):  # a comes back after its release: both of its lives count
        drops.rigs.add(rig)
        drops.drop(rig, "left", "decode_error", 2)
        drops.rigs.release(rig)
    drops.rigs.add("c")
    drops.drop("c", "right", "backlog_full")
    counts = final_counts(registry, drops.rigs)
    assert counts["dropped_decode_error"] == 6 and counts["dropped_backlog_full"] == 1
    assert final_counts(registry)["dropped_decode_error"] == 0  # the exported series alone


def test_a_released_rig_is_forgotten_by_the_decoder_and_each_request_names_its_stream(
    tmp_path, make_frame, fake_decoder_cls
):
    # The SI-Finder's warm-start state of a rig goes with its slot, and every pair's request
    # says where it sits in its rig's stream (the decoder searches near its previous matches).
    receiver = ReceiverConfig(bind="tcp://127.0.0.1:*", poll_ms=5.0, max_rigs=1, rig_idle_s=IDLE_S)
    sinks = (NullSinkConfig(type="none"),)
    requests = []
    decoder = fake_decoder_cls(before_reconstruct=requests.extend)
    app = DecoderApp(
        dataclasses.replace(config(tmp_path), receiver=receiver, sinks=sinks), decoder=decoder
    )
    stop, codes, runner, ctx, push = start_running(app)
    try:
        send_pair(push, make_frame, "a")
        assert wait_counted(app.registry, "decoded", "a", timeout=60.0)
        assert ("forget", "a") not in decoder.calls
        time.sleep(IDLE_S * 1.5)
        send_pair(push, make_frame, "b")  # takes a's slot
        assert wait_counted(app.registry, "decoded", "b")
        assert ("forget", "a") in decoder.calls and ("forget", "b") not in decoder.calls
    finally:
        stop_running(stop, runner, ctx, push)
    assert codes == [0]
    assert [r.position for r in requests] == [StreamPosition("a", 0), StreamPosition("b", 0)]
