"""Labelled decoder series exist at zero before their first event: every refusal reason and
thread from the start, every side and reason of a rig from its first frame; the lists of known
label values agree with docs/metrics.md."""

from __future__ import annotations

import re
from pathlib import Path

import zmq
from prometheus_client import CollectorRegistry

from decoder_node.app import DecoderApp
from decoder_node.batching import DynamicBatcher
from decoder_node.config import BatchingConfig, PairingConfig, ReceiverConfig
from decoder_node.metrics import DROP_REASONS, SIDES, UNPAIRED_REASONS
from decoder_node.pairing import Pairer
from decoder_node.receiver import REFUSAL_REASONS, Receiver
from decoder_node.watchdog import THREADS
from pipeline.wire import encode_frame
from tests.decoder_node.test_app import config, start_running, stop_running, wait_for

DOCS = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


def has(registry: CollectorRegistry, name: str, **labels: str) -> bool:
    return registry.get_sample_value(name, labels) == 0.0


def test_series_exist_at_zero_before_their_first_event(tmp_path, make_frame, fake_decoder_cls):
    app = DecoderApp(config(tmp_path), decoder=fake_decoder_cls())
    registry = app.registry  # its own, with the process collectors
    stop, codes, runner, ctx, push = start_running(app)
    try:
        for reason in REFUSAL_REASONS:
            assert has(registry, "stereo_decoder_malformed_messages_total", reason=reason)
        for thread in THREADS:
            assert has(registry, "stereo_decoder_thread_restarts_total", thread=thread)
        assert has(registry, "stereo_decoder_sink_errors_total", sink="png")
        assert registry.get_sample_value("process_resident_memory_bytes") > 1e6
        for side in SIDES:  # histograms by side: a zero count from the start
            by_side = ("bits_per_pixel", "network_latency_seconds", "pairing_wait_seconds")
            for name in (*by_side, "end_to_end_latency_seconds"):
                assert has(registry, f"stereo_decoder_{name}_count", side=side), name
        assert registry.get_sample_value("stereo_decoder_frames_dropped_total") is None
        left = make_frame("left", 0)
        push.send_multipart(encode_frame(left.header, left.payload))
        received = "stereo_decoder_frames_received_total"
        assert wait_for(
            lambda: registry.get_sample_value(received, {"rig": "rig0", "side": "left"})
        )
        rig = {"rig": "rig0"}
        assert has(registry, received, **rig, side="right")
        assert has(registry, "stereo_decoder_pairs_total", **rig)
        for side in SIDES:
            assert has(registry, "stereo_decoder_clock_steps_back_total", **rig, side=side)
            view = {**rig, "side": side}
            for reason in DROP_REASONS:
                assert has(registry, "stereo_decoder_frames_dropped_total", **view, reason=reason)
            for reason in set(UNPAIRED_REASONS) - {"partner_timeout"}:
                assert has(registry, "stereo_decoder_unpaired_frames_total", **view, reason=reason)
    finally:
        stop_running(stop, runner, ctx, push)
    assert codes == [0]


def documented_reasons(table_heading: str) -> set[str]:
    section = DOCS.read_text().split(table_heading, 1)[1].split("\n\n", 2)[1]
    return set(re.findall(r"^\| `(\w+)` \|", section, re.M))


def test_known_label_values_match_the_docs() -> None:
    drops = documented_reasons("Frame drop reasons")
    assert drops == set(DROP_REASONS), "decoder_node/metrics.py DROP_REASONS"
    text = DOCS.read_text()
    refusals = text.split("Malformed-message reasons:", 1)[1].split("\n\n", 1)[0]
    documented = set(re.findall(r"`(\w+)` \(", refusals))
    assert documented == set(REFUSAL_REASONS), "decoder_node/receiver.py REFUSAL_REASONS"
    unpaired = text.split("Unpaired reasons", 1)[1].split("\n\n", 1)[0]
    documented = set(re.findall(r"`(\w+)` \(", unpaired))
    assert documented == set(UNPAIRED_REASONS), "decoder_node/metrics.py UNPAIRED_REASONS"


def test_configured_sizes_are_exported_for_the_alerts(registry, drops) -> None:
    DynamicBatcher(BatchingConfig(backlog=128), drops, registry)
    pairer = Pairer(PairingConfig(slop_ms=35.0), drops, registry)
    with zmq.Context() as ctx:
        Receiver(ReceiverConfig(max_rigs=5), pairer, lambda item: None, drops, registry, ctx)
    value = registry.get_sample_value
    assert value("stereo_decoder_backlog_capacity") == 128
    assert value("stereo_decoder_pairing_slop_seconds") == 0.035
    assert value("stereo_decoder_rig_slots") == 5
    assert value("stereo_decoder_rig_slots_used") == 0
