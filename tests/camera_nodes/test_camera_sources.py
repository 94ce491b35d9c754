"""Folder and OpenCV sources (OpenCV faked by patching cv2.VideoCapture, as LeRobot's tests do)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from camera_nodes.config import FolderSourceConfig, OpenCVSourceConfig, SyntheticSourceConfig
from camera_nodes.sources import (
    EndOfStream,
    FolderSource,
    OpenCVSource,
    SourceError,
    SyntheticSource,
    make_source,
)
from camera_nodes.sources import opencv as opencv_module
from pipeline.scene import render_view


def _image(value: int, h: int = 12, w: int = 16) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 0], img[..., 1], img[..., 2] = value, 255 - value, np.arange(w, dtype=np.uint8)
    return img


@pytest.fixture
def sequence(tmp_path: Path) -> Path:
    for side, offset in (("left", 0), ("right", 100)):
        (tmp_path / side).mkdir()
        for i in range(3):
            Image.fromarray(_image(i + offset)).save(tmp_path / side / f"{i:06d}.png")
    (tmp_path / "left" / "notes.txt").write_text("not an image")
    return tmp_path


def test_folder_reads_in_order_then_ends(sequence: Path) -> None:
    src = make_source(FolderSourceConfig(path=str(sequence)), "right")
    assert isinstance(src, FolderSource)
    with src:
        frames = [src.read() for _ in range(3)]
        with pytest.raises(EndOfStream):
            src.read()
    assert [f.seq for f in frames] == [0, 1, 2]
    np.testing.assert_array_equal(frames[1].image, _image(101))


def test_folder_loop_keeps_counting_seq(sequence: Path) -> None:
    with FolderSource(FolderSourceConfig(path=str(sequence), loop=True), "left") as src:
        frames = [src.read() for _ in range(5)]
    assert [f.seq for f in frames] == [0, 1, 2, 3, 4]
    np.testing.assert_array_equal(frames[4].image, _image(1))


def test_folder_errors(tmp_path: Path, sequence: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        FolderSource(FolderSourceConfig(path=str(tmp_path / "nope")), "left").connect()
    (sequence / "left" / "000001.png").write_bytes(b"broken")
    with FolderSource(FolderSourceConfig(path=str(sequence)), "left") as src:
        src.read()
        with pytest.raises(SourceError, match="cannot read"):
            src.read()
        assert src.read().seq == 2, "a bad image costs only itself"


class FakeCapture:
    """Stands in for cv2.VideoCapture: loops over one BGR image, or fails as told."""

    frames_before_failure: int | None = None
    opened = True

    def __init__(self, device: object) -> None:
        self.device, self.reads, self.props = device, 0, {}
        self.bgr = np.dstack([np.full((8, 20), c, np.uint8) for c in (10, 20, 30)])
        self.bgr[:, 10:] += 100

    def isOpened(self) -> bool:  # noqa: N802 - the cv2 name
        return self.opened

    def set(self, prop: int, value: float) -> bool:
        self.props[prop] = value
        if prop == cv2.CAP_PROP_POS_FRAMES:
            self.reads = 0
        return True

    def read(self) -> tuple[bool, np.ndarray | None]:
        self.reads += 1
        limit = self.frames_before_failure
        if limit is not None and self.reads > limit:
            return False, None
        return True, self.bgr.copy()

    def release(self) -> None:
        self.opened = False


@pytest.fixture
def fake_capture(monkeypatch: pytest.MonkeyPatch) -> type[FakeCapture]:
    monkeypatch.setattr(opencv_module.cv2, "VideoCapture", FakeCapture)
    FakeCapture.frames_before_failure, FakeCapture.opened = None, True
    return FakeCapture


def test_opencv_converts_bgr_to_rgb_and_sets_props(fake_capture) -> None:
    src = OpenCVSource(OpenCVSourceConfig(device=0, width=640, fps=30.0), "left")
    with src:
        frame = src.read()
        assert src._cap.props == {cv2.CAP_PROP_FRAME_WIDTH: 640, cv2.CAP_PROP_FPS: 30.0}
        assert src.read().seq == 1
    assert frame.seq == 0 and frame.image.shape == (8, 20, 3)
    assert tuple(frame.image[0, 0]) == (30, 20, 10)


def test_opencv_side_by_side_takes_own_half(fake_capture) -> None:
    cfg = OpenCVSourceConfig(device="rtsp://cam/stream", layout="side_by_side")
    with OpenCVSource(cfg, "right") as src:
        image = src.read().image
    assert image.shape == (8, 10, 3)
    assert tuple(image[0, 0]) == (130, 120, 110)


def test_opencv_file_end_and_loop(fake_capture) -> None:
    fake_capture.frames_before_failure = 2
    with OpenCVSource(OpenCVSourceConfig(device="clip.mp4"), "left") as src:
        src.read(), src.read()
        with pytest.raises(EndOfStream):
            src.read()
    with OpenCVSource(OpenCVSourceConfig(device="clip.mp4", loop=True), "left") as src:
        assert [src.read().seq for _ in range(5)] == [0, 1, 2, 3, 4]


def test_opencv_live_read_failure_and_open_failure(fake_capture) -> None:
    fake_capture.frames_before_failure = 0
    with OpenCVSource(OpenCVSourceConfig(device=1), "left") as src, pytest.raises(SourceError):
        src.read()
    fake_capture.opened = False
    with pytest.raises(SourceError, match="cannot open"):
        OpenCVSource(OpenCVSourceConfig(device=3), "left").connect()


def test_synthetic_source_reads_frame_indices_as_seq() -> None:
    cfg = SyntheticSourceConfig(width=40, height=30, seed=2)
    with SyntheticSource(cfg, "right") as src:
        frames = [src.read() for _ in range(3)]
    assert [f.seq for f in frames] == [0, 1, 2]
    np.testing.assert_array_equal(frames[2].image, render_view(2, 40, 30, 2, "right"))


def test_folder_keeps_grey_images_grey(tmp_path: Path) -> None:
    grey = np.arange(12 * 16, dtype=np.uint8).reshape(12, 16)
    (tmp_path / "left").mkdir()
    Image.fromarray(grey, mode="L").save(tmp_path / "left" / "000000.png")
    Image.fromarray(_image(7)).save(tmp_path / "left" / "000001.png")
    with FolderSource(FolderSourceConfig(path=str(tmp_path)), "left") as src:
        first, second = src.read().image, src.read().image
    np.testing.assert_array_equal(first, grey)
    np.testing.assert_array_equal(second, _image(7))


def test_opencv_grey_streams_one_channel(fake_capture) -> None:
    with OpenCVSource(OpenCVSourceConfig(device=0, grey=True), "left") as src:
        image = src.read().image
    expected = cv2.cvtColor(FakeCapture(0).bgr, cv2.COLOR_BGR2GRAY)
    assert image.shape == (8, 20)
    np.testing.assert_array_equal(image, expected)


def test_opencv_one_channel_frames_stay_grey(fake_capture, monkeypatch) -> None:
    one_channel = np.tile(np.arange(20, dtype=np.uint8) * 10, (8, 1))
    monkeypatch.setattr(FakeCapture, "read", lambda self: (True, one_channel.copy()))
    cfg = OpenCVSourceConfig(device=0, layout="side_by_side")
    with OpenCVSource(cfg, "right") as src:
        image = src.read().image
    np.testing.assert_array_equal(image, one_channel[:, 10:])
