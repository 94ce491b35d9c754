"""The fault injector itself (``tests/integration/fault_injector.py``), as a process between a
PUSH and a PULL socket of this test: what it forwards arrives unchanged and in order, what it
drops is recorded (a message it cannot parse is forwarded), its drops follow the seed per
side, and SIGUSR1 turns them off."""

from __future__ import annotations

import signal
import time
from dataclasses import astuple
from pathlib import Path

import pytest
import zmq

from pipeline.wire import STREAM_PROTOCOL_VERSION, FrameHeader, StreamInfo, encode_frame
from stereo_app.demo.processes import stop, wait_until
from stereo_app.demo.setup import pick_ports
from tests.integration.fault_injector import DropRule, read_records, start_injector

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

MESSAGES = 200
"""A side; 400 in all, at a drop probability of 0.3."""


def message(side: str, packet: int) -> list[bytes]:
    """A version 2 message of packet ``packet`` (a keyframe every 10) with a payload that
    names it."""
    stream = StreamInfo("h264", 7 if side == "left" else 8, packet, packet % 10 == 0)
    now = time.time_ns()
    header = FrameHeader(
        STREAM_PROTOCOL_VERSION, "inj", side, packet, now, now, "h264-si2", 72, 48, 64, 1, stream
    )
    return encode_frame(header, f"{side} {packet}".encode())


def test_it_forwards_unchanged_drops_by_seed_and_stops_dropping_on_sigusr1(tmp_path: Path):
    (tmp_path / "logs").mkdir()
    bind, out = (f"tcp://127.0.0.1:{port}" for port in astuple(pick_ports())[:2])
    context = zmq.Context()
    pull = context.socket(zmq.PULL)
    pull.bind(out)
    push = context.socket(zmq.PUSH)
    push.connect(bind)
    injector = start_injector(tmp_path, bind, out, drop=0.3, seed=5)
    try:
        sent = [message(side, p) for p in range(MESSAGES) for side in ("left", "right")]
        for parts in sent:
            push.send_multipart(parts)
        wire = tmp_path / "wire.jsonl"
        assert wait_until(lambda: len(read_records(wire)) == len(sent), 30)
        records = read_records(wire)
        got = []
        while pull.poll(1000):
            got.append(pull.recv_multipart())
        kept = [parts for parts, r in zip(sent, records, strict=True) if not r["dropped"]]
        assert got == kept  # unchanged, in order
        assert [(r["side"], r["packet"]) for r in records] == [
            (side, p) for p in range(MESSAGES) for side in ("left", "right")
        ]
        assert all(r["keyframe"] == (r["packet"] % 10 == 0) for r in records)
        # the draws are the seed's, one RNG a side
        rule = DropRule(0.3, seed=5)
        for side in ("left", "right"):
            expected = [rule.drops("inj", side) for _ in range(MESSAGES)]
            assert [r["dropped"] for r in records if r["side"] == side] == expected
        assert 0.2 < sum(r["dropped"] for r in records) / len(records) < 0.4
        injector.proc.send_signal(signal.SIGUSR1)
        assert wait_until(lambda: {"event": "drops_off"} in read_records(wire), 10)
        later = [*sent[:50], [b"not a frame"]]  # one the wire parser refuses goes on too
        for parts in later:
            push.send_multipart(parts)
        assert wait_until(lambda: len(read_records(wire)) == len(sent) + 1 + len(later), 30)
        records = read_records(wire)[len(sent) + 1 :]
        assert not any(r["dropped"] for r in records)
        assert records[-1]["error"] and records[-1]["rig"] is None
        got = []
        while pull.poll(1000):
            got.append(pull.recv_multipart())
        assert got == later
    finally:
        push.close(linger=0)
        pull.close(linger=0)
        context.term()
        code = stop(injector, 10.0)
    assert code == 0
    log = (tmp_path / "logs" / "injector.log").read_text()
    assert f"received={len(sent) + len(later)} " in log, log
