"""The camera node against a real ZeroMQ PULL socket: in a thread (fake encoder), as a process."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import zmq

from camera_nodes.config import CameraConfig, SyntheticSourceConfig
from camera_nodes.node import CameraNode
from pipeline.wire import PROTOCOL_VERSION, decode_frame
from stereo_app.demo.processes import Child, camera_counts
from stereo_app.demo.processes import wait_until as poll_until

REPO = Path(__file__).resolve().parents[2]


class FakeEncoder:
    """An ImageEncoder stand-in whose output size grows with quality (no model, fast)."""

    model_id = "fake-model"
    qualities = (1, 2, 3, 4, 5, 6)
    default_quality = 4

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def encode(self, image: np.ndarray, role: str, quality: int) -> bytes:
        self.calls.append((str(role), quality))
        return bytes([quality]) * (1000 * quality)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def receive(sock: zmq.Socket, n: int, timeout_s: float = 20.0) -> list:
    got, deadline = [], time.monotonic() + timeout_s
    while len(got) < n and time.monotonic() < deadline:
        if sock.poll(100):
            got.append(decode_frame(sock.recv_multipart(copy=False)))
    return got


def config(endpoint: str, **changes) -> CameraConfig:
    values = dict(
        side="left",
        endpoint=endpoint,
        fps=50.0,
        frames=6,
        flush_s=5.0,
        metrics_port=0,
        source=SyntheticSourceConfig(width=32, height=24, seed=1),
    )
    values.update(changes)
    return CameraConfig(**values)


def run_in_thread(node: CameraNode) -> threading.Thread:
    thread = threading.Thread(target=node.run, daemon=True)
    thread.start()
    return thread


def test_thread_node_sends_headers_in_order(pull, caplog) -> None:
    caplog.set_level(logging.INFO, logger="camera_nodes")
    sock, endpoint = pull
    enc = FakeEncoder()
    before = time.time_ns()
    cfg = config(endpoint, side="right", clock_offset_ns=5_000_000_000, quality=2)
    node = CameraNode(cfg, encoder=enc)
    thread = run_in_thread(node)
    frames = receive(sock, 6)
    thread.join(10)
    assert not thread.is_alive()
    assert [h.seq for h, _ in frames] == [0, 1, 2, 3, 4, 5]
    for h, payload in frames:
        assert (h.version, h.rig_id, h.side, h.model_id) == (
            PROTOCOL_VERSION,
            "rig0",
            "right",
            "fake-model",
        )
        assert (h.quality, h.height, h.width, h.channels) == (2, 24, 32, 3)
        assert before + 5e9 <= h.capture_ns <= h.send_ns <= time.time_ns() + 5e9
        assert payload == bytes([2]) * 2000
    assert enc.calls[0] == ("side", 2)
    m = node.metrics
    totals = m.totals()
    assert totals["captured"] == totals["encoded"] == totals["sent"] == 6
    assert m.sent_bytes._value.get() == 6 * 2000
    assert sum(v for k, v in totals.items() if k.startswith("dropped_")) == 0
    stopped = [r.getMessage() for r in caplog.records if " stopped: " in r.getMessage()]
    assert len(stopped) == 1
    assert stopped[0] == (
        "rig0/right stopped: captured=6 encoded=6 sent=6 keyframes_sent=0 "
        f"missed_slots={totals['missed_slots']} keyframe_requests_honoured=0 "
        "dropped_queue_full=0 dropped_capture_error=0 dropped_encode_error=0 dropped_shutdown=0 "
        "dropped_awaiting_keyframe=0"
    )  # missed_slots: 0 unless the machine stalled the thread for a 20 ms period


def test_fps_pacing(pull) -> None:
    sock, endpoint = pull
    node = CameraNode(config(endpoint, fps=20.0, frames=5), encoder=FakeEncoder())
    thread = run_in_thread(node)
    frames = receive(sock, 5)
    thread.join(10)
    offsets_s = [(h.capture_ns - frames[0][0].capture_ns) / 1e9 for h, _ in frames]
    # The node keeps a fixed 50 ms schedule from its own start and, when late, catches up by at
    # most one period: so frame 4 comes at least two periods after frame 0, however late frame
    # 0 was (a bound on frame 0's clock was wrong under load: a late first capture made frame 1
    # look early, 42.7 ms). An unpaced node sends five frames in a few ms. The upper bound only
    # catches a node that does not run at all (a loaded machine may be late by a lot).
    assert offsets_s == sorted(offsets_s), offsets_s
    assert offsets_s[-1] >= 2 * 0.05 - 0.005, offsets_s
    assert offsets_s[-1] <= 3.0, offsets_s


class SlowEncoder(FakeEncoder):
    """Takes 100 ms a frame: five 20 ms capture times pass during each encode."""

    def encode(self, image: np.ndarray, role: str, quality: int) -> bytes:
        time.sleep(0.1)
        return super().encode(image, role, quality)


def test_a_node_slower_than_its_rate_counts_the_capture_times_it_missed(pull) -> None:
    sock, endpoint = pull
    node = CameraNode(config(endpoint, fps=50.0, frames=6), encoder=SlowEncoder())
    thread = run_in_thread(node)
    assert len(receive(sock, 6)) == 6
    thread.join(10)
    totals = node.metrics.totals()
    # at least 4 of every 5 capture times pass during an encode (more on a loaded machine)
    assert totals["missed_slots"] >= 4 * (totals["captured"] - 1) - 1, totals
    assert sum(v for k, v in totals.items() if k.startswith("dropped_")) == 0


def test_rate_controller_lowers_quality_in_node(pull) -> None:
    sock, endpoint = pull
    cfg = config(endpoint, fps=50.0, frames=20, quality=6, target_kbps=1000.0)
    node = CameraNode(cfg, encoder=FakeEncoder())  # q bytes*1000*8*50 -> 400*q kbit/s
    thread = run_in_thread(node)
    qualities = [h.quality for h, _ in receive(sock, 20)]
    thread.join(10)
    assert qualities[0] == 6 and qualities[-1] == 2, qualities
    assert node.metrics.quality._value.get() == 2


def wait_until(predicate, timeout_s: float = 20.0) -> bool:
    """Poll ``predicate`` every 20 ms until it holds or ``timeout_s`` passes; whether it held."""
    return poll_until(predicate, timeout_s, interval=0.02)


def test_survives_decoder_absent_and_restarting() -> None:
    # Conditions, not a frame rate: a loaded CI machine runs the 100 fps node at half speed
    # (it once delivered seq 30 where a fixed "> 30" was asked).
    port = free_port()
    endpoint = f"tcp://127.0.0.1:{port}"
    cfg = config(endpoint, frames=0, fps=100.0, send_queue=3, sndhwm=1, flush_s=0.5)
    node = CameraNode(cfg, encoder=FakeEncoder())
    drops = node.metrics.dropped["queue_full"]._value.get
    thread = run_in_thread(node)
    ctx = zmq.Context()
    try:
        last_seq = -1
        for _life in range(2):  # the decoder comes up late, then restarts
            before = drops()
            # nobody listens: ZeroMQ holds sndhwm, our queue drops the oldest
            assert wait_until(lambda b=before: drops() >= b + 8), "no queue_full drops while absent"
            captured = node.metrics.captured._value.get()  # the next frame has this seq
            sock = ctx.socket(zmq.PULL)
            sock.bind(endpoint)
            frames = receive(sock, 10)
            sock.close(linger=0)
            assert len(frames) == 10
            seqs = [h.seq for h, _ in frames]
            assert seqs == sorted(seqs) and seqs[0] > last_seq, seqs
            assert seqs[-1] >= captured, f"no frame captured after the bind flowed: {seqs}"
            steps = [b - a for a, b in zip([last_seq, *seqs[:-1]], seqs, strict=True)]
            assert max(steps) > 1, f"frames dropped while absent were sent anyway: {seqs}"
            last_seq = seqs[-1]
    finally:
        node.stop()
        thread.join(10)
        ctx.term()
    assert not thread.is_alive()


def _subprocess_env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}


def _write_config(tmp_path: Path, endpoint: str, frames: int, side: str = "left") -> Path:
    path = tmp_path / f"{side}.toml"
    path.write_text(
        f'side = "{side}"\nrig_id = "rigT"\nendpoint = "{endpoint}"\nfps = 20.0\n'
        f"frames = {frames}\nflush_s = 5.0\nmetrics_port = 0\n"
        '[source]\ntype = "synthetic"\nwidth = 64\nheight = 48\nseed = 7\n'
    )
    return path


def test_process_end_to_end_with_real_codec(pull, tmp_path: Path) -> None:
    from pipeline.codec import Role, read_header

    sock, endpoint = pull
    cfg = _write_config(tmp_path, endpoint, frames=4, side="right")
    cmd = [sys.executable, "-m", "camera_nodes.cli", "--config", str(cfg), "--fps", "10"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=_subprocess_env())
    try:
        frames = receive(sock, 4, timeout_s=60)
        assert proc.wait(30) == 0
    finally:
        proc.kill()
    assert [h.seq for h, _ in frames] == [0, 1, 2, 3]
    for h, payload in frames:
        bh = read_header(payload)
        assert (h.rig_id, h.side) == ("rigT", "right")
        assert bh.role == Role.SIDE and bh.model_id == h.model_id and bh.quality == h.quality
        assert (bh.height, bh.width, bh.channels) == (h.height, h.width, h.channels) == (48, 64, 3)


def test_process_sigterm_exits_zero(pull, tmp_path: Path) -> None:
    sock, endpoint = pull
    cfg = _write_config(tmp_path, endpoint, frames=0)
    cmd = [sys.executable, "-m", "camera_nodes.cli", "--config", str(cfg)]
    log = (tmp_path / "camera.log").open("wb")
    proc = subprocess.Popen(cmd, cwd=REPO, env=_subprocess_env(), stderr=log)
    try:
        got = receive(sock, 2, timeout_s=60)
        assert len(got) == 2
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        proc.kill()
        log.close()
    counts = camera_counts(Child("camera", proc, log))
    assert counts is not None, (tmp_path / "camera.log").read_text()
    got += receive(sock, counts["sent"] - len(got), timeout_s=20)  # flushed while stopping
    got += receive(sock, 1, timeout_s=0.5)  # none beyond what it says it sent
    assert counts["sent"] == len(got) and counts["captured"] >= len(got)


def test_cli_validate_config(tmp_path: Path, capsys, monkeypatch) -> None:
    from camera_nodes.cli import main
    from pipeline.keygen import main as keys

    # the example config is the secure one: its keys (relative paths) must be there
    monkeypatch.chdir(tmp_path)
    shipped = ["--config", str(REPO / "configs/camera-left.toml"), "--validate-config"]
    assert main(shipped) == 2
    assert "secret_key" in capsys.readouterr().err
    assert keys(["generate", "--out", "keys", "--name", "decoder"]) == 0
    args = ["generate", "--out", "keys", "--name", "rig0-left", "--rig", "rig0", "--side", "left"]
    assert keys(args) == 0
    assert main(shipped) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text('side = "left"\nfps = -1\n')
    assert main(["--config", str(bad), "--validate-config"]) == 2
    assert f"{bad}:2: fps: must be >= 0.0" in capsys.readouterr().err
    assert main(["--config", str(REPO / "configs/camera-left.toml"), "--frames", "-3"]) == 2
    assert "frames: must be >= 0" in capsys.readouterr().err
