"""``cv2.VideoCapture`` as a frame source: a device index, a video file, or an RTSP/HTTP URL."""

from __future__ import annotations

import cv2
import numpy as np

from camera_nodes.config import OpenCVSourceConfig
from camera_nodes.sources.base import EndOfStream, Frame, FrameSource, SourceError


class OpenCVSource(FrameSource):
    """Reads frames with OpenCV and converts BGR to RGB; seq counts frames read.

    A frame that arrives with one channel stays grey; with ``grey = true`` every frame is made
    grey (a monochrome camera whose driver delivers three equal channels).

    ``connect`` blocks while the device or stream opens and raises :class:`SourceError` if it
    does not. ``read`` blocks until the device delivers a frame (its own rate). At the end of a
    video file it rewinds (``loop``) or raises :class:`EndOfStream`; a failed read of a live
    device raises :class:`SourceError`. With ``layout = "side_by_side"`` the device delivers
    both views in one frame and this node keeps its own half.
    """

    def __init__(self, config: OpenCVSourceConfig, side: str) -> None:
        self.config, self.side = config, side
        self._cap: cv2.VideoCapture | None = None
        self._next = 0

    @property
    def _is_file(self) -> bool:
        return isinstance(self.config.device, str) and "://" not in self.config.device

    def connect(self) -> None:
        cap = cv2.VideoCapture(self.config.device)
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"cannot open video source {self.config.device!r}")
        for prop, value in (
            (cv2.CAP_PROP_FRAME_WIDTH, self.config.width),
            (cv2.CAP_PROP_FRAME_HEIGHT, self.config.height),
            (cv2.CAP_PROP_FPS, self.config.fps),
        ):
            if value:
                cap.set(prop, value)
        self._cap, self._next = cap, 0

    def read(self) -> Frame:
        if self._cap is None:
            raise SourceError("opencv source read before connect()")
        ok, bgr = self._cap.read()
        if not ok and self._is_file and self.config.loop:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, bgr = self._cap.read()
        if not ok or bgr is None:
            if self._is_file:
                raise EndOfStream(f"end of {self.config.device}")
            raise SourceError(f"read failed on {self.config.device!r}")
        seq = self._next
        self._next += 1
        return Frame(seq, self._own_view(bgr))

    def _own_view(self, pixels: np.ndarray) -> np.ndarray:
        if pixels.ndim == 3 and pixels.shape[2] == 1:
            pixels = pixels[:, :, 0]
        if self.config.layout == "side_by_side":
            half = pixels.shape[1] // 2
            pixels = pixels[:, :half] if self.side == "left" else pixels[:, half : 2 * half]
        if pixels.ndim == 2:
            return np.ascontiguousarray(pixels)
        code = cv2.COLOR_BGR2GRAY if self.config.grey else cv2.COLOR_BGR2RGB
        return np.ascontiguousarray(cv2.cvtColor(pixels, code))

    def disconnect(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
