"""The interface of a source of compressed packets (a camera that codes its own stream).

A :class:`~camera_nodes.sources.base.FrameSource` yields pixels the node encodes; a
:class:`PacketSource` yields the packets of a stream someone else coded (an IP camera's
H.264, a UVC camera's H.264 mode, a file), which the node forwards as they are. Same
lifecycle (``connect``, ``read``, ``disconnect``, a context manager) and the same errors
(``SourceError``, ``EndOfStream`` from :mod:`camera_nodes.sources.base`); each packet is the
:class:`~pipeline.codec.video.VideoPacket` a :class:`~pipeline.codec.video.VideoEncoder`
would have produced, so the wire and the decoder treat both alike.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

from camera_nodes.sources.base import Connectable
from pipeline.codec.video import VideoPacket


@dataclass(frozen=True)
class CapturedPacket:
    """One packet of the stream and what the node sends with it.

    ``packet``: ``stream_id`` (new on every ``connect``), ``index`` (0, 1, 2, ... with no
    gaps), ``keyframe``, ``pts`` (= ``index``), ``data`` (Annex B, parameter sets on every
    keyframe); ``capture_ns``: the frame's time on the camera clock, strictly increasing;
    ``width`` and ``height``: the coded picture's; ``channels``: 1 for a grey stream (its
    pixel format ``gray``), else 3 (the decoder's RGB); ``quality``: the value the SI-Net is told
    (the stream's nominal CRF/QP from the config); ``bpp``: the stream's bits per pixel over
    the last keyframe interval (a measure of its rate, keyframes included).
    """

    packet: VideoPacket
    capture_ns: int
    width: int
    height: int
    quality: int
    bpp: float
    channels: int = 3


class PacketSource(Connectable):
    """A source of one view's already compressed video, packet by packet.

    Not thread-safe: one reader thread. :meth:`read` returns packets in decode order, one
    frame each, starting at a keyframe; :meth:`connect` raises :class:`SourceError` also for a
    stream that cannot be passed through.
    """

    codec: str
    """The stream's codec (``h264``, ``hevc``): what the decoder must run."""

    @abc.abstractmethod
    def read(self) -> CapturedPacket:
        """The next packet; blocks until it arrives (or, for a paced file, until its time).
        Raises :class:`EndOfStream` at the end of a file and :class:`SourceError` when a
        read fails."""
