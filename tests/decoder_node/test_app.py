"""The daemon assembled in-process (with a stand-in codec): sockets, HTTP, drain, CLI."""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
import zmq
from PIL import Image
from prometheus_client import CollectorRegistry

from decoder_node.app import DecoderApp
from decoder_node.cli import main
from decoder_node.config import (
    BatchingConfig,
    DecoderCodecConfig,
    DecoderConfig,
    HttpConfig,
    PairingConfig,
    PngSinkConfig,
    ReceiverConfig,
    TimingSinkConfig,
)
from decoder_node.metrics import DROP_REASONS, final_counts
from pipeline.monitoring import MonitoringServer
from pipeline.wire import encode_frame
from stereo_app.demo.processes import wait_until
from tests.decoder_node.video_camera import VideoCamera, direct_decode

pytestmark = pytest.mark.timeout(60)


def config(tmp_path, **pairing) -> DecoderConfig:
    return DecoderConfig(
        receiver=ReceiverConfig(bind="tcp://127.0.0.1:*", poll_ms=5.0),
        pairing=PairingConfig(**{"mode": "sequence", "max_age_ms": 200.0, **pairing}),
        batching=BatchingConfig(max_batch=4, max_wait_ms=10.0),
        sinks=(PngSinkConfig(type="png", dir=tmp_path / "png", left_alone=True),),
        http=HttpConfig(host="127.0.0.1", port=0),
    )


def get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_for(predicate, timeout=10.0) -> bool:
    """Poll ``predicate`` every 20 ms until it holds or ``timeout`` passes; whether it held."""
    return wait_until(predicate, timeout, interval=0.02)


def start_running(app: DecoderApp, ready_s: float = 10.0):
    """Run ``app`` on a thread until ready (``ready_s`` at most, else stop it and fail);
    (stop event, exit codes, runner, context, PUSH)."""
    stop, codes = threading.Event(), []
    runner = threading.Thread(target=lambda: codes.append(app.run(stop, 0.05)))
    runner.start()
    if not wait_for(lambda: app.state == "ok", ready_s):
        stop.set()
        runner.join(30.0)
        pytest.fail(f"the daemon was not ready in {ready_s} s (state {app.state})")
    ctx = zmq.Context()
    push = ctx.socket(zmq.PUSH)
    push.connect(app.endpoint)
    return stop, codes, runner, ctx, push


def stop_running(stop: threading.Event, runner: threading.Thread, ctx, push) -> None:
    """Stop what :func:`start_running` started: the app (with its drain), then the PUSH."""
    stop.set()
    runner.join(15.0)
    push.close(linger=0)
    ctx.term()


def test_daemon_pairs_decodes_writes_and_drains(tmp_path, make_frame, fake_decoder_cls):
    registry = CollectorRegistry()
    app = DecoderApp(config(tmp_path), registry, decoder=fake_decoder_cls())
    stop, codes, runner, ctx, push = start_running(app)
    try:
        for seq in range(6):
            push.send_multipart(
                encode_frame(make_frame("left", seq).header, make_frame("left", seq).payload)
            )
            if seq != 5:  # the last right never comes: the left is decoded alone
                push.send_multipart(
                    encode_frame(make_frame("right", seq).header, make_frame("right", seq).payload)
                )
        push.send_multipart([b"junk"])
        decoded = "stereo_decoder_frames_decoded_total"
        left = {"rig": "rig0", "side": "left"}
        assert wait_for(lambda: (registry.get_sample_value(decoded, left) or 0) >= 5)
        status, body = get(app.http_port, "/healthz")
        assert status == 200 and json.loads(body)["status"] == "ok"
        status, body = get(app.http_port, "/metrics")
        assert status == 200 and b"stereo_decoder_build_info{" in body
        assert b'stereo_decoder_malformed_messages_total{reason="malformed"} 1.0' in body
        assert get(app.http_port, "/nope")[0] == 404
    finally:
        stop.set()
        runner.join(15.0)
        push.close(linger=0)
        ctx.term()
    assert codes == [0] and app.state == "stopped"
    assert registry.get_sample_value(decoded, left) == 6
    assert registry.get_sample_value(decoded, {"rig": "rig0", "side": "right"}) == 5
    png = tmp_path / "png" / "rig0"
    assert len(list((png / "left").glob("*.png"))) == 6
    assert len(list((png / "left_alone").glob("*.png"))) == 6
    assert len(list((png / "right").glob("*.png"))) == 5
    assert not list(png.rglob("*.tmp"))


def test_shutdown_releases_unmatched_frames_and_decodes_them(
    tmp_path, make_frame, fake_decoder_cls
):
    registry = CollectorRegistry()
    app = DecoderApp(config(tmp_path, max_age_ms=60_000.0), registry, decoder=fake_decoder_cls())
    app.start()
    ctx = zmq.Context()
    push = ctx.socket(zmq.PUSH)
    push.connect(app.endpoint)
    try:
        f = make_frame("right", 1)
        push.send_multipart(encode_frame(f.header, f.payload))
        received = "stereo_decoder_frames_received_total"
        assert wait_for(
            lambda: registry.get_sample_value(received, {"rig": "rig0", "side": "right"})
        )
    finally:
        push.close(linger=0)
        ctx.term()
        app.stop()
    labels = {"rig": "rig0", "side": "right"}
    assert registry.get_sample_value("stereo_decoder_frames_decoded_total", labels) == 1
    assert (
        registry.get_sample_value(
            "stereo_decoder_unpaired_frames_total", {**labels, "reason": "shutdown"}
        )
        == 1
    )


def test_a_port_in_use_stops_the_start_cleanly_and_returns_2(tmp_path, fake_decoder_cls):
    ctx = zmq.Context()
    taken = ctx.socket(zmq.PULL)
    port = taken.bind_to_random_port("tcp://127.0.0.1")
    try:
        cfg = config(tmp_path)
        cfg = DecoderConfig(
            **{**cfg.__dict__, "receiver": ReceiverConfig(bind=f"tcp://127.0.0.1:{port}")}
        )
        app = DecoderApp(cfg, CollectorRegistry(), decoder=fake_decoder_cls())
        assert app.run(threading.Event()) == 2  # the host's problem: no restart loop
        assert app.state == "stopped" and app.failure.startswith("receiver.bind: cannot bind")
    finally:
        taken.close(linger=0)
        ctx.term()


def test_cli_validate_config(tmp_path, capsys):
    good = tmp_path / "good.toml"
    good.write_text(
        '[pairing]\nmode = "sequence"\n[[sinks]]\ntype = "none"\n'
        "[security]\nallow_insecure = true\n"
    )  # the default binds: tcp://*, 0.0.0.0
    assert main(["--config", str(good), "--validate-config"]) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text("[batching]\nmax_batch = 0\n")
    assert main(["--config", str(bad), "--validate-config"]) == 2
    err = capsys.readouterr().err
    assert "batching.max_batch" in err and "must be >= 1" in err and "bad.toml:2" in err
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('[[sinks]]\ntype = "s3"\n')
    assert main(["--config", str(unknown), "--validate-config"]) == 2
    assert "sinks[0].type" in capsys.readouterr().err


SIGNAL_SCRIPT = """
import sys, threading, time
from decoder_node.cli import install_signal_handlers
stop = threading.Event()
install_signal_handlers(stop)
print("ready", flush=True)
stop.wait()
print("draining", flush=True)
time.sleep(30)  # a drain that takes long
"""


def test_first_signal_drains_second_exits_at_once():
    proc = subprocess.Popen(
        [sys.executable, "-c", SIGNAL_SCRIPT], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGTERM)
        assert proc.stdout.readline().strip() == "draining"
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 128 + signal.SIGTERM
        assert time.monotonic() - start < 5
    finally:
        proc.kill()
        proc.wait()


def test_healthz_is_503_unless_ok():
    state = {"status": "draining"}
    server = MonitoringServer("127.0.0.1", 0, CollectorRegistry(), lambda: dict(state))
    server.start()
    try:
        status, body = get(server.port, "/healthz")
        assert status == 503 and json.loads(body) == {"status": "draining"}
        state["status"] = "ok"
        assert get(server.port, "/healthz")[0] == 200
    finally:
        server.stop()


class _Escaped(BaseException):
    """A bug that gets past a worker's ``except Exception``."""


def _run_with_a_dying_model(tmp_path, make_frame, fake_decoder_cls, restarts, deaths):
    died = []

    def die(requests):
        if len(died) < deaths:
            died.append(requests)
            raise _Escaped("the model thread dies")

    registry = CollectorRegistry()
    cfg = DecoderConfig(**{**config(tmp_path).__dict__, "max_thread_restarts": restarts})
    app = DecoderApp(cfg, registry, decoder=fake_decoder_cls(before_reconstruct=die))
    stop, codes, runner, ctx, push = start_running(app)
    try:
        for seq in range(6):
            for side in ("left", "right"):
                frame = make_frame(side, seq)
                push.send_multipart(encode_frame(frame.header, frame.payload))
            time.sleep(0.15)  # one pair a batch
        wait_for(lambda: not runner.is_alive() or sum(final_counts(registry).values()) >= 24, 15)
    finally:
        stop.set()
        runner.join(15.0)
        push.close(linger=0)
        ctx.term()
    return codes, final_counts(registry), registry


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
@pytest.mark.parametrize(
    ("restarts", "code", "restarted"), [(3, 0, 1), (0, 1, 0)], ids=["restarted", "spent"]
)
def test_a_dead_worker_thread_is_started_again_until_its_restarts_are_spent(
    tmp_path, make_frame, fake_decoder_cls, restarts, code, restarted
):
    """With a restart left the thread comes back, the pair it held counted as a decode error,
    and the daemon later exits 0; with none the daemon stops with 1. Every frame is counted."""
    codes, counts, registry = _run_with_a_dying_model(
        tmp_path, make_frame, fake_decoder_cls, restarts=restarts, deaths=1
    )
    assert codes == [code]
    dropped = sum(v for k, v in counts.items() if k.startswith("dropped_"))
    assert counts["received"] == counts["decoded"] + dropped
    restarts_total = "stereo_decoder_thread_restarts_total"
    assert registry.get_sample_value(restarts_total, {"thread": "model"}) == restarted
    if restarts:
        assert counts["received"] == 12 and counts["decoded"] == 10
        assert counts["dropped_decode_error"] == 2  # the pair the dead thread held


def view_counts(registry: CollectorRegistry, side: str, rig: str = "rig0") -> dict[str, float]:
    """Frames received, decoded and dropped (by reason) of one rig and side."""
    view = {"rig": rig, "side": side}
    value = registry.get_sample_value
    counts = {
        "received": value("stereo_decoder_frames_received_total", view),
        "decoded": value("stereo_decoder_frames_decoded_total", view),
    }
    for reason in DROP_REASONS:
        labels = {**view, "reason": reason}
        counts[reason] = value("stereo_decoder_frames_dropped_total", labels)
    return counts


@pytest.mark.timeout(240)
def test_daemon_decodes_h264_pairs_with_side_information(tmp_path):
    """The real codec on the CPU: two H.264 cameras, the left one losing a packet on the way;
    every frame from the next keyframe on is decoded with side information, the stream's own
    pixels are the left view decoded alone, and received = decoded + dropped per side."""
    timing = tmp_path / "timing.jsonl"
    cfg = dataclasses.replace(
        config(tmp_path),
        codec=DecoderCodecConfig(device="cpu", self_ensemble=1),
        sinks=(*config(tmp_path).sinks, TimingSinkConfig(type="timing", path=timing)),
    )
    registry = CollectorRegistry()
    app = DecoderApp(cfg, registry)
    left, right = VideoCamera("left").take(8), VideoCamera("right", seed=1).take(8)
    sent_left = [m for m in left if m.header.seq != 1]  # lost on the wire
    stop, codes, runner, ctx, push = start_running(app, ready_s=120.0)
    try:
        for seq in range(8):
            for message in (*sent_left, *right):
                if message.header.seq == seq:
                    push.send_multipart(message.parts)
        counts = lambda: final_counts(registry)  # noqa: E731
        assert wait_for(lambda: counts()["decoded"] == 5 + 8, timeout=180.0), counts()
    finally:
        stop_running(stop, runner, ctx, push)
    assert codes == [0]
    left, right = view_counts(registry, "left"), view_counts(registry, "right")
    assert (left["received"], left["decoded"], right["received"], right["decoded"]) == (7, 5, 8, 8)
    assert (left["stream_gap"], left["waiting_keyframe"]) == (1, 1)
    for counts in (left, right):
        dropped = sum(counts[reason] for reason in DROP_REASONS)
        assert counts["received"] == counts["decoded"] + dropped
    png = tmp_path / "png" / "rig0"
    expected = direct_decode(sent_left)
    for message, image in zip(sent_left, expected, strict=True):
        name = f"{message.header.seq:06d}.png"
        assert (png / "left" / name).exists() == (image is not None)
        if image is not None:
            alone = np.asarray(Image.open(png / "left_alone" / name))
            np.testing.assert_array_equal(alone, image)
            fused = np.asarray(Image.open(png / "left" / name))
            assert fused.shape == image.shape and not np.array_equal(fused, image)
    records = [json.loads(line) for line in timing.read_text().splitlines()]
    assert len(records) == 13 and all(r["stream_decode"] > 0 for r in records)
