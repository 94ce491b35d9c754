"""Small synthetic video for the video codec tests: a photo-like image panned across."""

from __future__ import annotations

import numpy as np

from pipeline.codec.video import VideoEncoder, VideoPacket, VideoSettings
from tests.conftest import natural_image

HEIGHT, WIDTH = 96, 128
STEP = 2
"""Pixels the view moves right each frame: real motion, so P-frames predict, not repeat."""


def moving_frames(
    count: int, channels: int = 1, seed: int = 0, height: int = HEIGHT, width: int = WIDTH
) -> list[np.ndarray]:
    """``count`` consecutive ``height`` x ``width`` frames of a camera panning across a scene."""
    scene = natural_image(height, width + STEP * count, channels, seed=seed)
    return [scene[:, STEP * i : STEP * i + width].copy() for i in range(count)]


def encode_stream(
    settings: VideoSettings, frames: list[np.ndarray], stream_id: int = 7
) -> list[VideoPacket]:
    """The packets of ``frames`` coded as one stream."""
    height, width = frames[0].shape[:2]
    channels = 1 if frames[0].ndim == 2 else 3
    with VideoEncoder(settings, width, height, channels, stream_id=stream_id) as encoder:
        return [encoder.encode(frame) for frame in frames]
