"""A decoder per video stream: packets in order, each to pixels once, gaps waited out.

A video frame decodes only on top of the frames before it, so the decoder keeps the stream's
state (its FFmpeg context) and the next packet index it expects. A packet that does not follow
(a lost message, a camera restart's new ``stream_id``, a decoder that joins mid-stream) is
dropped unless it is a keyframe, and so is every packet after it until the next keyframe: the
outcome says which of the two reasons (``stream_gap`` for the packet that shows the gap,
``waiting_keyframe`` for the rest). A packet FFmpeg cannot decode raises
:class:`~pipeline.codec.bitstream.errors.CorruptBitstreamError` and the decoder waits for the next
keyframe; nothing from FFmpeg escapes as another exception.

Sizes: FFmpeg refuses a frame over ``limits.max_pixels`` before allocating it (its
``max_pixels`` option), and every decoded frame is checked against the per-side limits
(:class:`~pipeline.codec.bitstream.errors.ImageTooLargeError`) and the shape the caller expects.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import av
import numpy as np

from pipeline.codec.bitstream.errors import CorruptBitstreamError
from pipeline.codec.bitstream.limits import ImageLimits
from pipeline.codec.video.encoder import VideoPacket
from pipeline.codec.video.frames import from_frame
from pipeline.codec.video.settings import VIDEO_CODECS

HARDWARE_DECODERS: dict[str, tuple[str, ...]] = {
    "h264": ("h264_cuvid",),
    "hevc": ("hevc_cuvid",),
    "av1": ("av1_cuvid",),
}
"""NVDEC decoders tried first when a decoder asks for hardware, in order."""

SOFTWARE_DECODERS: dict[str, str] = {"h264": "h264", "hevc": "hevc", "av1": "libdav1d"}
"""Each codec's CPU decoder (FFmpeg's native ``av1`` decodes only through a hardware API)."""

BAD_DATA = (
    av.error.InvalidDataError,
    av.error.PatchWelcomeError,
    av.error.ArgumentError,
    av.error.BugError,
    av.error.UndefinedError,
    av.error.UnknownError,
    av.error.ExternalError,
    av.error.EOFError,
    av.error.MemoryError,
    av.error.OverflowError,
    av.error.PermissionError,
)
"""What PyAV raises for a packet FFmpeg cannot decode: AVERROR_INVALIDDATA, a feature the
decoder lacks (PATCHWELCOME), AVERROR_BUG, _UNKNOWN or _UNDEFINED from a damaged stream, a
library's own error (dav1d), a decoder already at the end of its stream, EPERM (HEVC's, for
some damaged slice headers: found by the fuzz target), and a frame over
``max_pixels`` (EINVAL from the H.264 decoder, ENOMEM from HEVC's, ERANGE from dav1d's: so a
true out-of-memory while decoding also counts as a corrupt packet, and the stream waits for a
keyframe). An interrupted call or any other OS error is not the packet's fault and escapes."""


class DropReason(enum.StrEnum):
    """Why a packet was not decoded (the decoder counts drops by these names)."""

    STREAM_GAP = "stream_gap"
    """The packet does not follow the last one (lost packets, a new stream) and is no
    keyframe."""
    WAITING_KEYFRAME = "waiting_keyframe"
    """The stream is waiting for a keyframe: after a gap, a corrupt packet, or on joining."""


@dataclass(frozen=True)
class DecodeOutcome:
    """A decoded frame (``image``) or why the packet was dropped (``dropped``)."""

    image: np.ndarray | None = None
    dropped: DropReason | None = None


class VideoStreamDecoder:
    """Decodes one camera's stream of ``codec`` packets into uint8 images of ``channels``.

    ``hardware``: try NVDEC (``h264_cuvid``, ...) before the CPU decoder; ``threads``: slice
    threads of the CPU decoder (frame threads would hold frames back).
    """

    def __init__(
        self,
        codec: str,
        channels: int,
        limits: ImageLimits | None = None,
        hardware: bool = False,
        threads: int = 1,
    ) -> None:
        if codec not in VIDEO_CODECS:
            raise ValueError(f"codec must be one of {VIDEO_CODECS}, got {codec!r}")
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grey) or 3 (RGB), got {channels}")
        self.codec, self.channels = codec, channels
        self.limits = limits or ImageLimits()
        self.threads = threads
        self._candidates = [
            *(HARDWARE_DECODERS[codec] if hardware else ()),
            SOFTWARE_DECODERS[codec],
        ]
        self.name: str | None = None
        """The FFmpeg decoder last opened (None until the first keyframe)."""
        self.stream_id: int | None = None
        self._context = None
        self._next_index: int | None = None

    @property
    def waiting(self) -> bool:
        """True while no keyframe has been decoded since the start, a gap or an error."""
        return self._context is None

    def decode(self, packet: VideoPacket, shape: tuple[int, int] | None = None) -> DecodeOutcome:
        """Decode ``packet``, the stream's next; ``shape``: the (height, width) it must have.

        Returns the image, or the drop reason; raises :class:`CorruptBitstreamError` (the
        stream then waits for a keyframe) for a packet that does not decode to one frame of
        an allowed size.
        """
        first = self.stream_id is None
        follows = packet.stream_id == self.stream_id and packet.index == self._next_index
        self.stream_id, self._next_index = packet.stream_id, packet.index + 1
        if not follows:
            self.reset()
            if not packet.keyframe:
                reason = DropReason.WAITING_KEYFRAME if first else DropReason.STREAM_GAP
                return DecodeOutcome(dropped=reason)
        if self.waiting and not packet.keyframe:
            return DecodeOutcome(dropped=DropReason.WAITING_KEYFRAME)
        try:
            return DecodeOutcome(image=self._decode(packet.data, shape))
        except CorruptBitstreamError:
            self.reset()
            raise

    def reset(self) -> None:
        """Drop the stream's state: the next packet decodes only if it is a keyframe."""
        self._context = None

    def _decode(self, data: bytes, shape: tuple[int, int] | None) -> np.ndarray:
        if self._context is None:
            self._context = self._open()
        try:
            frames = self._context.decode(av.Packet(data))
        except BAD_DATA as e:
            raise CorruptBitstreamError(f"{self.name}: undecodable packet: {e}") from e
        if len(frames) != 1:
            raise CorruptBitstreamError(f"{self.name}: a packet gave {len(frames)} frames, not 1")
        frame = frames[0]
        self.limits.check(frame.height, frame.width)
        if shape is not None and (frame.height, frame.width) != tuple(shape):
            raise CorruptBitstreamError(
                f"{self.name}: decoded a {frame.height}x{frame.width} frame, the stream declares "
                f"{shape[0]}x{shape[1]}"
            )
        try:
            return from_frame(frame, self.channels)
        except ValueError as e:
            raise CorruptBitstreamError(f"{self.name}: {e}") from e

    def _open(self):
        """The first decoder that opens: NVDEC where asked for and present, else the CPU's. A
        hardware decoder that fails to open is not tried again by this stream."""
        while len(self._candidates) > 1:
            try:
                return self._open_named(self._candidates[0])
            except av.error.FFmpegError:
                del self._candidates[0]
        return self._open_named(self._candidates[0])

    def _open_named(self, name: str):
        context = av.CodecContext.create(name, "r")
        context.thread_type = "SLICE"
        context.thread_count = self.threads
        # low delay: every frame out with its packet (NVDEC's display queue otherwise holds 4)
        context.flags |= av.codec.context.Flags.low_delay
        context.options = {"max_pixels": str(self.limits.max_pixels)}
        context.open()
        self.name = name
        return context
