"""Small H.264/HEVC files made with PyAV for the pass-through tests, and a direct decode of them.

The frames pan across a photo-like scene (:func:`tests.codec.video.streams.moving_frames`),
coded by libx264/libx265 at zero latency with a keyframe every :data:`GOP` frames, into an
MP4 (length-prefixed packets, parameter sets in the ``avcC``/``hvcC`` extradata) or a raw
Annex B file (``.h264``/``.hevc``, parameter sets in band).
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from pipeline.codec.video.frames import from_frame
from tests.codec.video.streams import moving_frames

GOP, FRAMES, FPS = 10, 25, 10
ENCODERS = {"h264": "libx264", "hevc": "libx265"}
LOW_DELAY = {
    "h264": {"tune": "zerolatency", "x264-params": f"keyint={GOP}:min-keyint={GOP}:scenecut=0"},
    "hevc": {"tune": "zerolatency", "x265-params": f"keyint={GOP}:min-keyint={GOP}:scenecut=0"},
}
WITH_B_FRAMES = {"x264-params": f"keyint={GOP}:bframes=2:b-adapt=0"}
"""libx264 with two B-frames between references (a camera in its default, high-delay mode)."""


def write_stream(
    path: Path, codec: str = "h264", options: dict[str, str] | None = None, fmt: str | None = None
) -> Path:
    """Code :data:`FRAMES` RGB frames at :data:`FPS` into ``path`` (MP4 or raw by suffix)."""
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream(ENCODERS[codec], rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 128, 96, "yuv420p"
        stream.options = LOW_DELAY[codec] if options is None else options
        for i, image in enumerate(moving_frames(FRAMES, channels=3)):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def direct_decode(path: Path) -> list[np.ndarray]:
    """Every frame of ``path`` decoded by PyAV straight from the file, as RGB."""
    with av.open(str(path)) as container:
        return [from_frame(frame, 3) for frame in container.decode(video=0)]


def demuxed(path: Path) -> tuple[bytes, list[tuple[bool, bytes]]]:
    """The extradata of ``path``'s video stream and its packets (keyframe, bytes) as stored."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        packets = [(p.is_keyframe, bytes(p)) for p in container.demux(stream) if p.size]
        return bytes(stream.codec_context.extradata or b""), packets
