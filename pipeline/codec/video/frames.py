"""Images to FFmpeg frames and back: grey stays grey, colour is RGB.

A grey image goes to the encoder as ``gray`` where the encoder takes it (libx264, libx265) and
otherwise as ``yuv420p`` with neutral chroma (U = V = 128: SVT-AV1, most hardware encoders); the
decoder returns the luma plane of either. A colour image is converted to ``yuv420p`` (FFmpeg's
swscale, BT.601) and back to RGB with the same matrix.
"""

from __future__ import annotations

import av
import numpy as np

GREY = "gray"
YUV420 = "yuv420p"
NEUTRAL_CHROMA = 128
LUMA_FIRST = frozenset(
    ("gray", "yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21")
)
"""8-bit formats whose first plane is the luma a grey stream is read from."""


def to_frame(image: np.ndarray, pix_fmt: str, pts: int) -> av.VideoFrame:
    """``image`` (uint8 grey ``(H, W)`` or RGB ``(H, W, 3)``) as a ``pix_fmt`` frame at ``pts``."""
    if image.ndim == 2 and pix_fmt == GREY:
        frame = av.VideoFrame.from_ndarray(image, format=GREY)
    elif image.ndim == 2:
        frame = av.VideoFrame.from_ndarray(_neutral_chroma(image), format=YUV420)
    else:
        frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format=pix_fmt)
    if frame.format.name != pix_fmt:
        frame = frame.reformat(format=pix_fmt)
    frame.pts = pts
    return frame


def _neutral_chroma(grey: np.ndarray) -> np.ndarray:
    """The planar ``yuv420p`` layout PyAV takes: the luma rows, then U and V at 128."""
    height, width = grey.shape
    planes = np.full((height * 3 // 2, width), NEUTRAL_CHROMA, np.uint8)
    planes[:height] = grey
    return planes


def from_frame(frame: av.VideoFrame, channels: int) -> np.ndarray:
    """A decoded frame as uint8: its luma ``(H, W)`` for ``channels`` 1, else RGB ``(H, W, 3)``."""
    if channels == 3:
        return frame.to_ndarray(format="rgb24")
    if frame.format.name == GREY:
        return frame.to_ndarray()
    if frame.format.name not in LUMA_FIRST:
        raise ValueError(f"a grey stream decoded to {frame.format.name}, not 8-bit luma")
    plane = frame.planes[0]
    rows = np.frombuffer(memoryview(plane), np.uint8).reshape(frame.height, plane.line_size)
    return rows[:, : frame.width].copy()
