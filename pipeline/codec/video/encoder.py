"""A camera's video encoder: one image in, one packet out, keyframes on a schedule or on demand."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import av
import numpy as np

from pipeline.codec.inputs import check_image
from pipeline.codec.video import profiles
from pipeline.codec.video.frames import to_frame
from pipeline.codec.video.selection import EncoderUnavailableError, select_encoder
from pipeline.codec.video.settings import VideoSettings


@dataclass(frozen=True)
class VideoPacket:
    """One coded frame of a stream.

    ``stream_id`` names the stream (a camera restart starts a new one); ``index`` counts the
    stream's packets from 0 with no gaps, so a decoder sees a lost one (it is not the wire's
    ``seq``); ``keyframe``: the packet decodes on its own and carries the parameter sets
    (a decoder can join here); ``pts``: the frame's index in the stream; ``data``: the codec's
    bitstream (Annex B for H.264 and HEVC, AV1 OBUs).
    """

    stream_id: int
    index: int
    keyframe: bool
    pts: int
    data: bytes


class VideoEncoder:
    """Codes a camera's images, all of one size and channel count, into a stream of packets.

    A keyframe comes every ``settings.keyframe_interval`` frames, counted from the last one,
    and on the next frame after :meth:`force_keyframe`. Images are uint8 grey ``(H, W)`` or
    RGB ``(H, W, 3)``; width and height must be even (4:2:0).
    """

    def __init__(
        self,
        settings: VideoSettings,
        width: int,
        height: int,
        channels: int,
        stream_id: int | None = None,
    ) -> None:
        """Open the encoder (``settings.encoder``, or with ``auto`` the first that works);
        ``stream_id``: the stream's id (default: random, 63 bits)."""
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grey) or 3 (RGB), got {channels}")
        if width < 2 or height < 2 or width % 2 or height % 2:
            raise ValueError(f"video frames need an even width and height, got {width}x{height}")
        with kept_scheduling():  # SVT-AV1's open (and auto's probes) may change it
            selection = select_encoder(settings, width, height, channels)
            context = selection.profile.open(settings, width, height, channels)
        self.settings = settings
        self.profile = selection.profile
        self.refused = selection.refused
        """The encoders tried before this one, each with why it was passed over."""
        self.stream_id = secrets.randbits(63) if stream_id is None else stream_id
        self._shape = (height, width) if channels == 1 else (height, width, 3)
        self._context = context
        self._pix_fmt = self.profile.pix_fmt(channels)
        self._index = 0
        self._since_keyframe = 0
        self._force = True

    @property
    def name(self) -> str:
        """The FFmpeg encoder in use (``libx264``, ``h264_nvenc``, ...)."""
        return self.profile.name

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of the images this stream codes: ``(H, W)`` grey, ``(H, W, 3)`` RGB."""
        return self._shape

    @property
    def packets(self) -> int:
        """Packets coded so far: the next packet's index."""
        return self._index

    def force_keyframe(self) -> None:
        """Make the next frame a keyframe (after a dropped packet, or a decoder's request)."""
        self._force = True

    def encode(self, image: np.ndarray) -> VideoPacket:
        """The packet of ``image``, the stream's next frame."""
        image = check_image(image)
        if image.shape != self._shape:
            raise ValueError(f"image of shape {image.shape}; this stream codes {self._shape}")
        keyframe = self._force or self._since_keyframe >= self.settings.keyframe_interval
        frame = to_frame(image, self._pix_fmt, pts=self._index)
        if keyframe:
            frame.pict_type = av.video.frame.PictureType.I
        packets = self._context.encode(frame)
        if len(packets) != 1 or packets[0].is_keyframe != keyframe:
            kinds = [p.is_keyframe for p in packets]
            raise EncoderUnavailableError(
                f"{self.name} coded frame {self._index} (keyframe: {keyframe}) into "
                f"{len(packets)} packets (keyframes: {kinds}), not one"
            )
        packet = VideoPacket(self.stream_id, self._index, keyframe, self._index, bytes(packets[0]))
        self._index += 1
        self._since_keyframe = 1 if keyframe else self._since_keyframe + 1
        self._force = False
        return packet

    def close(self) -> None:
        """End the stream and free the encoder."""
        if self._context is not None:
            profiles.drain(self._context)
            self._context = None

    def __enter__(self) -> VideoEncoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def kept_scheduling() -> Iterator[None]:
    """Keep the calling thread's scheduling policy and priority across the block.

    SVT-AV1 (libsvtav1), opened by a process running as root, switches the calling thread to
    ``SCHED_FIFO`` priority 99, which would let a camera's capture loop (or a training job)
    starve the rest of the host. The thread is put back as it was; the encoder's own worker
    threads keep what SVT-AV1 gives them, which is why the shipped units and manifests run
    cameras as an unprivileged user (docs/video.md)."""
    policy, param = os.sched_getscheduler(0), os.sched_getparam(0)
    try:
        yield
    finally:
        if (os.sched_getscheduler(0), os.sched_getparam(0)) != (policy, param):
            os.sched_setscheduler(0, policy, param)
