"""A standard- or video-codec camera runs where torch is not installed (the base install,
docs/install.md).

Real camera processes run under :mod:`tests.integration.without_torch`, which makes the
``learned`` extra's packages unimportable; a wire-level receiver in the test (a real PULL
socket) parses what they send: the wire header, the bitstream container and the AVIF file,
whose pixels must match the synthetic view the camera rendered. What a camera imports must be
what ``pip install .`` installs (the camera image's step): the project's dependencies and
theirs, PyAV among them for a video camera, none of an extra.
"""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import cv2
import pytest
import zmq

from pipeline.codec.bitstream.container import parse
from pipeline.codec.standard import STANDARD_CODECS
from pipeline.evaluation.quality import psnr
from pipeline.scene.render import render_view
from pipeline.wire import decode_frame
from stereo_app.demo.setup import pick_ports
from tests.camera_nodes.video_messages import decode_stream
from tests.integration.configs import SYNTHETIC, camera_toml

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

FRAMES, WIDTH, HEIGHT = 4, 64, 48
REPO = Path(__file__).resolve().parents[2]


def _camera_toml(endpoint: str, codec: str) -> str:
    return camera_toml(
        "nt", "left", endpoint, SYNTHETIC | {"width": WIDTH, "height": HEIGHT},
        codec=codec, fps=20.0, frames=FRAMES, metrics_port=0, flush_s=10.0,
    )  # fmt: skip


def _without_torch(args: list[str], timeout: float = 60.0) -> subprocess.CompletedProcess:
    """Run ``stereo-pipeline ARGS`` from the repository root with the learned extra blocked."""
    cmd = [sys.executable, "-m", "tests.integration.without_torch", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          cwd=REPO)  # fmt: skip


def _name(requirement: str) -> str:
    """The normalised distribution name of ``requirement`` (``Pillow>=11`` -> ``pillow``)."""
    name = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def _base_install() -> set[str]:
    """The distributions ``pip install .`` installs: the project, its dependencies and theirs
    (those of an extra left out), by normalised name."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names, todo = {_name(project["name"])}, list(project["dependencies"])
    while todo:
        requirement = todo.pop()
        if "extra ==" in requirement or _name(requirement) in names:
            continue
        names.add(_name(requirement))
        try:
            todo += importlib.metadata.requires(_name(requirement)) or []
        except importlib.metadata.PackageNotFoundError:  # not installed: a marker left it out
            continue
    return names


def _receive(pull: zmq.Socket, count: int) -> list[list[bytes]]:
    messages = []
    while len(messages) < count and pull.poll(30_000):
        messages.append(pull.recv_multipart())
    return messages


def _camera_without_torch(tmp_path: Path, codec: str) -> list:
    """The messages (header, payload) a ``codec`` camera process sends with the learned extra
    blocked, which it must never even try to import."""
    endpoint = f"tcp://127.0.0.1:{pick_ports().frames}"
    (tmp_path / "left.toml").write_text(_camera_toml(endpoint, codec))
    context = zmq.Context()
    pull = context.socket(zmq.PULL)
    pull.setsockopt(zmq.LINGER, 0)
    pull.bind(endpoint)
    try:
        args = ["--distributions", "camera", "--config", str(tmp_path / "left.toml")]
        done = _without_torch(args)
        assert done.returncode == 0, done.stderr
        assert "blocked: -" in done.stderr  # no module of the learned extra was even tried
        imported = re.search(r"^distributions: (.*)$", done.stderr, re.M)[1].split(",")
        missing = {_name(owner) for owner in imported} - _base_install()
        assert not missing, f"a {codec} camera imports {missing}, which `pip install .` lacks"
        messages = [decode_frame(m) for m in _receive(pull, FRAMES)]
    finally:
        context.destroy(linger=0)
    assert len(messages) == FRAMES
    return messages


def test_avif_camera_without_torch_sends_frames_a_receiver_parses(tmp_path: Path) -> None:
    for header, payload in _camera_without_torch(tmp_path, "avif"):
        bitstream = parse(payload)
        assert (header.rig_id, header.side, header.model_id) == ("nt", "left", "avif-si1")
        assert bitstream.header.model_id == "avif-si1"
        assert (bitstream.header.height, bitstream.header.width) == (HEIGHT, WIDTH)
        image = STANDARD_CODECS["avif"].decode(bitstream.strings[0], 3, (HEIGHT, WIDTH))
        assert psnr(image, render_view(header.seq, WIDTH, HEIGHT, 0, "left")) > 28.0


def test_h264_camera_without_torch_sends_a_stream_a_receiver_decodes(tmp_path: Path) -> None:
    messages = _camera_without_torch(tmp_path, "h264")  # PyAV's video path imports no torch
    assert [header.version for header, _ in messages] == [2] * FRAMES
    for (header, _), image in zip(messages, decode_stream("h264", messages), strict=True):
        assert header.model_id == "h264-si2"
        assert psnr(image, render_view(header.seq, WIDTH, HEIGHT, 0, "left")) > 28.0


def test_a_standard_codec_encodes_without_torch(tmp_path: Path) -> None:
    view = render_view(0, WIDTH, HEIGHT, 0, "left")
    cv2.imwrite(str(tmp_path / "left.png"), cv2.cvtColor(view, cv2.COLOR_RGB2BGR))
    sic = tmp_path / "left.sic"
    done = _without_torch(["encode", str(tmp_path / "left.png"), "-o", str(sic), "--codec", "avif"])
    assert done.returncode == 0, done.stderr
    assert "blocked: -" in done.stderr  # nothing even tried to import torch
    bits = parse(sic.read_bytes())
    assert (bits.header.model_id, bits.header.height, bits.header.width) == ("avif-si1", 48, 64)
    pixels = STANDARD_CODECS["avif"].decode(bits.strings[0], 3, (HEIGHT, WIDTH))
    assert psnr(pixels, view) > 28.0


def test_commands_that_need_torch_name_the_extra(tmp_path: Path) -> None:
    (tmp_path / "dsin.toml").write_text(_camera_toml("tcp://127.0.0.1:5555", "dsin"))
    camera = _without_torch(["camera", "--config", str(tmp_path / "dsin.toml")])
    view = render_view(0, WIDTH, HEIGHT, 0, "left")
    cv2.imwrite(str(tmp_path / "left.png"), cv2.cvtColor(view, cv2.COLOR_RGB2BGR))
    sic = str(tmp_path / "x.sic")
    encoded = _without_torch(["encode", str(tmp_path / "left.png"), "-o", sic, "--codec", "jpeg"])
    assert encoded.returncode == 0, encoded.stderr
    decoder = _without_torch(["decode", sic, "-o", str(tmp_path / "x.png")])
    for done in (camera, decoder):
        assert done.returncode == 2, done.stderr
        assert "pip install 'stereo-pipeline[learned]'" in done.stderr
        assert "blocked: torch" in done.stderr
