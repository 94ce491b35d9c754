"""A camera node's /metrics, /healthz and process metrics on its real HTTP port; side defaults."""

from __future__ import annotations

import json
import re
import socket
import urllib.error
import urllib.request

from camera_nodes.cli import run
from camera_nodes.config import CameraConfig
from camera_nodes.node import CameraNode
from tests.camera_nodes.test_camera_node import (
    FakeEncoder,
    config,
    free_port,
    receive,
    run_in_thread,
    wait_until,
)
from tests.integration.test_deploy_files import documented_metrics


def healthz(port: int) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())
    except urllib.error.URLError:  # not listening yet
        return 0, {"status": None}


def test_healthz_ok_while_sending_with_counts_and_process_metrics(pull) -> None:
    sock, endpoint = pull
    port = free_port()
    cfg = config(endpoint, frames=0, metrics_port=port, metrics_addr="127.0.0.1", rig_id="h1")
    node = CameraNode(cfg, encoder=FakeEncoder())
    thread = run_in_thread(node)
    try:
        assert len(receive(sock, 3)) == 3
        assert wait_until(lambda: healthz(port)[1].get("frames_sent", 0) >= 3)  # counted after
        status, doc = healthz(port)
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
    finally:
        node.stop()
        thread.join(10)
    assert status == 200 and doc["status"] == "ok", doc
    assert (doc["rig"], doc["side"], doc["model_id"]) == ("h1", "left", "fake-model")
    assert doc["frames_sent"] >= 3 and doc["frames_captured"] >= doc["frames_sent"]
    assert set(doc["frames_dropped"]) == {
        "queue_full",
        "capture_error",
        "encode_error",
        "shutdown",
        "awaiting_keyframe",
    }
    assert 0 <= doc["seconds_since_send"] < 5 and doc["seconds_since_capture"] < 5
    assert b"process_resident_memory_bytes " in metrics and b"python_info{" in metrics


def test_healthz_says_stalled_when_nothing_leaves_then_stopped() -> None:
    port = free_port()
    nobody = f"tcp://127.0.0.1:{free_port()}"  # no decoder: ZeroMQ takes sndhwm, then nothing
    cfg = config(
        nobody,
        frames=0,
        sndhwm=1,
        stall_s=0.5,
        flush_s=0.2,
        metrics_port=port,
        metrics_addr="127.0.0.1",
    )
    node = CameraNode(cfg, encoder=FakeEncoder())
    thread = run_in_thread(node)
    try:
        assert wait_until(lambda: healthz(port)[1]["status"] == "stalled")
        status, doc = healthz(port)
        assert status == 503 and doc["frames_captured"] > doc["frames_sent"]
        assert doc["seconds_since_send"] is None or doc["seconds_since_send"] > 0.5
        assert doc["seconds_since_capture"] < 0.5  # the source is fine: the network is not
    finally:
        node.stop()
        thread.join(10)
    assert node.health()["status"] == "stopped"


def test_default_ports_by_side() -> None:
    left, right = CameraConfig(side="left"), CameraConfig(side="right")
    assert (left.http_port, right.http_port) == (8471, 8472)
    assert CameraConfig(side="right", metrics_port=0).http_port == 0


def test_a_metrics_port_in_use_exits_2_naming_the_key(caplog) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cfg = config("tcp://127.0.0.1:1", codec="jpeg", metrics_port=port, metrics_addr="127.0.0.1")
        assert run(cfg) == 2
    assert f"metrics_port: cannot serve on 127.0.0.1:{port}" in caplog.text


def test_metrics_endpoint(pull) -> None:
    sock, endpoint = pull
    port = free_port()
    cfg = config(endpoint, frames=0, fps=50.0, metrics_port=port, metrics_addr="127.0.0.1")
    node = CameraNode(cfg, encoder=FakeEncoder())
    thread = run_in_thread(node)
    try:
        receive(sock, 3)
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
    finally:
        node.stop()
        thread.join(10)
    text = text.decode()
    for name in (
        'stereo_camera_frames_captured_total{rig="rig0",side="left"}',
        'stereo_camera_frames_dropped_total{reason="queue_full",rig="rig0",side="left"} 0.0',
        "stereo_camera_encode_seconds_bucket",
        "stereo_camera_sent_bytes_total",
        'stereo_camera_quality{rig="rig0",side="left"} 4.0',
    ):
        assert name in text, name
    documented = {n for n in documented_metrics() if n.startswith("stereo_camera_")}
    exposed = set(re.findall(r"^# TYPE (stereo_camera_\w+) ", text, re.M))
    exposed = {n for n in exposed if not n.endswith("_created")}  # the CLI turns those off
    assert len(documented) >= 10 and exposed == documented
