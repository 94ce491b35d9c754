"""A camera with a video codec: real nodes send protocol-v2 messages whose stream decodes, with
a keyframe every interval, through a real PULL socket (``docs/video.md``)."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from camera_nodes.config import CameraConfig, SyntheticSourceConfig, VideoTable
from camera_nodes.node import CameraNode
from pipeline.codec.bitstream.container import parse
from pipeline.codec.video.settings import DEFAULT_CRF, quality_of_crf
from pipeline.codec.weights import named_hash
from pipeline.evaluation.quality import psnr
from pipeline.scene.render import render_view
from pipeline.wire import decode_frame
from stereo_app.demo.processes import wait_until
from tests.camera_nodes.video_messages import decode_stream, receive_all
from tests.integration.configs import camera_toml

REPO = Path(__file__).resolve().parents[2]
WIDTH, HEIGHT = 64, 48


def test_an_h264_camera_process_sends_v2_messages_with_a_keyframe_every_interval(pull, tmp_path):
    sock, endpoint = pull
    frames, fps, interval_s = 12, 20.0, 0.25  # a keyframe every 5 frames
    source = {"type": "synthetic", "width": WIDTH, "height": HEIGHT, "seed": 3}
    text = camera_toml(
        "vrig", "left", endpoint, source, codec="h264", fps=fps, frames=frames, flush_s=10.0,
        metrics_port=0, video={"keyframe_interval_s": interval_s, "crf": 23},
    )  # fmt: skip
    (tmp_path / "left.toml").write_text(text)
    cmd = [sys.executable, "-m", "camera_nodes.cli", "--config", str(tmp_path / "left.toml")]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    messages = receive_all(sock, first_timeout_ms=5000)
    assert len(messages) == frames
    assert "keyframes_sent=3 " in done.stderr and "encoded=12 " in done.stderr
    assert "h264 encoder libx264 (passed over: h264_v4l2m2m" in done.stderr
    stream_ids = {header.stream.id for header, _ in messages}
    assert len(stream_ids) == 1
    for i, (header, payload) in enumerate(messages):
        bits = parse(payload)
        assert header.version == 2 and header.seq == i
        assert (header.stream.codec, header.stream.packet) == ("h264", i)
        assert header.stream.keyframe == (i % 5 == 0)
        assert header.model_id == bits.header.model_id == "h264-si2"
        assert header.quality == bits.header.quality == quality_of_crf(23)
        assert bits.header.weights_hash == named_hash("si-std2")
        assert len(bits.strings) == 1
    for seq, image in enumerate(decode_stream("h264", messages)):
        assert psnr(image, render_view(seq, WIDTH, HEIGHT, 3, "left")) > 30.0


@pytest.mark.parametrize("codec", ["hevc", "av1"])
def test_a_video_node_exports_its_encoder_and_closes_it_on_stop(pull, codec):
    sock, endpoint = pull
    config = CameraConfig(
        side="right", endpoint=endpoint, fps=50.0, frames=4, flush_s=5.0, metrics_port=0,
        codec=codec, video=VideoTable(keyframe_interval_s=0.04),
        source=SyntheticSourceConfig(width=WIDTH, height=HEIGHT, seed=1),
    )  # fmt: skip
    node = CameraNode(config)
    thread = threading.Thread(target=node.run)
    thread.start()
    thread.join(60)
    assert not thread.is_alive()
    messages = receive_all(sock, first_timeout_ms=5000)
    assert [h.stream.keyframe for h, _ in messages] == [True, False, True, False]
    assert all(h.quality == quality_of_crf(DEFAULT_CRF[codec]) for h, _ in messages)
    assert len(decode_stream(codec, messages)) == 4
    software = {"hevc": "libx265", "av1": "libsvtav1"}[codec]
    labels = {"rig": "rig0", "side": "right", "codec": codec, "encoder": software}
    assert node.metrics.registry.get_sample_value("stereo_camera_video_encoder_info", labels) == 1
    video = node.health()["video"]
    assert video["encoder"] == software and video["keyframes_sent"] == 2
    assert f"{codec}_nvenc" in video["refused"]
    assert node._encoder.encoder_name is None  # closed: the stream ended with the node


def test_a_stream_the_send_queue_cut_resumes_at_a_forced_keyframe_and_decodes(pull):
    """No receiver at first: the queue drops the oldest frames with the frames that depend on
    them and forces a keyframe, so what arrives decodes, each gap closed by a keyframe."""
    sock, endpoint = pull
    sock.unbind(endpoint)
    config = CameraConfig(
        side="left", endpoint=endpoint, fps=50.0, frames=0, flush_s=5.0, metrics_port=0,
        codec="h264", send_queue=3, sndhwm=1, video=VideoTable(keyframe_interval_s=10.0),
        source=SyntheticSourceConfig(width=WIDTH, height=HEIGHT, seed=2),
    )  # fmt: skip
    node = CameraNode(config)
    thread = threading.Thread(target=node.run)
    thread.start()
    try:
        assert wait_until(lambda: node.metrics.keyframes_forced._value.get() >= 1, 60)
        sock.bind(endpoint)
        messages = [decode_frame(sock.recv_multipart()) for _ in range(12) if sock.poll(30_000)]
    finally:
        node.stop()
        thread.join(30)
    assert len(messages) == 12 and not thread.is_alive()
    packets = [header.stream.packet for header, _ in messages]
    assert packets != list(range(packets[0], packets[0] + 12)), "nothing was dropped"
    for (header, _), before in zip(messages[1:], packets, strict=False):
        assert header.stream.packet == before + 1 or header.stream.keyframe, packets
    assert max(packets) < 500, packets  # forced keyframes, not the scheduled one (10 s in)
    assert len(decode_stream("h264", messages)) == 12  # every one decodes: no broken chain
    totals = node.metrics.totals()
    assert totals["dropped_awaiting_keyframe"] > 0 and totals["dropped_queue_full"] > 0
