"""Grey stays grey from source to sink: real camera nodes on a folder of single-channel PNGs,
a wire tap between them and a real decoder, and the PNGs the decoder writes."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
import zmq
from PIL import Image

from pipeline.codec.bitstream.container import read_header
from pipeline.scene import render_stereo_frame
from pipeline.wire import decode_frame
from stereo_app.demo.processes import spawn, stop, wait_until
from stereo_app.demo.setup import free_port, pick_ports
from tests.integration.configs import camera_toml, cpu_decoder_toml

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

FRAMES = 4
WIDTH, HEIGHT = 64, 48
ENV = {"OMP_NUM_THREADS": "1"}


class WireTap(threading.Thread):
    """A PULL socket the cameras send to, forwarding every message to the decoder's PULL
    socket, recording ``(side, wire-header channels, container channels)`` of each."""

    def __init__(self, listen_port: int, decoder_port: int) -> None:
        super().__init__(daemon=True)
        self.listen_port, self.decoder_port = listen_port, decoder_port
        self.seen: list[tuple[str, int, int]] = []
        self.ready, self.done = threading.Event(), threading.Event()

    def run(self) -> None:
        context = zmq.Context()
        pull, push = context.socket(zmq.PULL), context.socket(zmq.PUSH)
        try:
            pull.bind(f"tcp://127.0.0.1:{self.listen_port}")
            push.connect(f"tcp://127.0.0.1:{self.decoder_port}")
            self.ready.set()
            while not self.done.is_set():
                if pull.poll(100):
                    parts = pull.recv_multipart()
                    header, bitstream = decode_frame(parts)
                    self.seen.append(
                        (header.side, header.channels, read_header(bitstream).channels)
                    )
                    push.send_multipart(parts)
        finally:
            pull.close(linger=0)
            push.close(linger=2000)
            context.term()


def _grey_views(root: Path) -> dict[str, list[np.ndarray]]:
    """The synthetic scene's luma as single-channel PNGs, ``root/{left,right}/NNNNNN.png``."""
    views: dict[str, list[np.ndarray]] = {"left": [], "right": []}
    for index in range(FRAMES):
        pair = render_stereo_frame(index, WIDTH, HEIGHT, 5)
        for side, rgb in zip(("left", "right"), pair, strict=True):
            grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
            (root / side).mkdir(parents=True, exist_ok=True)
            Image.fromarray(grey, mode="L").save(root / side / f"{index:06d}.png")
            views[side].append(grey)
    return views


def _camera_toml(side: str, tap_port: int, folder: Path) -> str:
    return camera_toml(
        "grey", side, f"tcp://127.0.0.1:{tap_port}", {"type": "folder", "path": folder.as_posix()},
        fps=4.0, frames=FRAMES, codec="jpeg", send_queue=16, flush_s=10.0, metrics_port=0,
    )  # fmt: skip


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-12)))


def test_a_grey_rig_is_streamed_and_written_as_one_channel(tmp_path):
    views = _grey_views(tmp_path / "sequence")
    ports, tap_port = pick_ports(), free_port()
    decoded = tmp_path / "decoded"
    sinks = f'[[sinks]]\ntype = "png"\ndir = "{decoded.as_posix()}"\nleft_alone = true\n'
    pairing = 'mode = "sequence"\nmax_age_ms = 30000.0'
    configs = {
        "decoder": cpu_decoder_toml(ports.frames, ports.decoder_http, pairing=pairing) + sinks,
        "camera-left": _camera_toml("left", tap_port, tmp_path / "sequence"),
        "camera-right": _camera_toml("right", tap_port, tmp_path / "sequence"),
    }
    tap = WireTap(tap_port, ports.frames)
    tap.start()
    assert tap.ready.wait(10)
    children = []
    try:
        for name, text in configs.items():
            (tmp_path / f"{name}.toml").write_text(text)
            command = "decoder" if name == "decoder" else "camera"
            args = [command, "--config", str(tmp_path / f"{name}.toml")]
            children.append(spawn(name, args, tmp_path / "logs", ENV))
        written = {view: decoded / "grey" / view for view in ("left", "right", "left_alone")}
        every_view_written = wait_until(
            lambda: all(len(list(d.glob("*.png"))) == FRAMES for d in written.values()), 180
        )
        # the cameras stop by themselves after their frames; then the decoder is told to stop
        wait_until(lambda: all(c.poll() is not None for c in children[1:]), 60)
    finally:
        codes = {child.name: stop(child, 60, signal.SIGTERM) for child in reversed(children)}
        tap.done.set()
        tap.join(10)
    log = (tmp_path / "logs" / "decoder.log").read_text()[-2000:]
    assert every_view_written, log
    assert codes == {"decoder": 0, "camera-left": 0, "camera-right": 0}, log
    assert sorted(tap.seen) == sorted([("left", 1, 1)] * FRAMES + [("right", 1, 1)] * FRAMES)
    for view, folder in written.items():
        originals = views["right" if view == "right" else "left"]
        for index, path in enumerate(sorted(folder.glob("*.png"))):
            with Image.open(path) as image:
                assert image.mode == "L" and image.size == (WIDTH, HEIGHT), (path, image.mode)
                assert _psnr(np.asarray(image), originals[index]) > 25.0, path
