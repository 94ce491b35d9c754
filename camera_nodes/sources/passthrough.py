"""A stream the camera already compresses, passed through: ``[source] type = "passthrough"``.

PyAV demuxes the URL, file or device; no decoder or encoder is opened on the packets (the
open's stream probe, FFmpeg's ``avformat_find_stream_info``, may decode the first frames to
learn the stream's size). Each packet leaves as the camera coded it, in Annex B: MP4/MKV's
length-prefixed packets go through FFmpeg's ``h264_mp4toannexb`` / ``hevc_mp4toannexb``
filter, which rewrites the length prefixes as start codes and puts the extradata's parameter
sets before every keyframe; an Annex B stream (RTSP, a raw .h264 file, a UVC camera) passes
the filter unchanged, and a keyframe of it without parameter sets gets the last ones the
stream carried, or its extradata's (RTSP's ``sprop-parameter-sets``), put in front (with none
at all it goes as an ordinary packet, no join point). The slices are never touched.

Refused: a stream with B-frames (the decoder's stream decoder takes one frame out per packet
in; a reordering stream would hold frames back), detected at ``connect`` from the stream's
reorder delay and on ``read`` from a timestamp that goes back.

The end of a file raises :class:`EndOfStream`; the end of a network stream or a device is a
failed read (:class:`SourceError`: the node reconnects).

Timestamps: the first packet's is anchored at the camera clock's time when it was read, the
later ones follow by their timestamp's distance from it (a stream without timestamps, a raw
.h264 file: by their count at ``fps``). A file with ``realtime`` hands a packet out no earlier
than its time (it plays at its own rate). A live stream (a URL, a device) is never held back:
its anchor moves to a packet that arrives before its mapped time (so the anchor is the least
delayed packet's), and to a packet that arrives over ``resync_s`` late (a stalled network, a
timestamp jump, a camera clock slower than the host's); so does a realtime file's when
stream and wall time part by more than ``resync_s``. Times are made strictly increasing.
"""

from __future__ import annotations

import secrets
import time
from collections import deque
from collections.abc import Callable
from fractions import Fraction

import av
from av.bitstream import BitStreamFilterContext

from camera_nodes.config import PassthroughSourceConfig
from camera_nodes.sources.annexb import has_parameter_sets, is_annexb, parameter_sets
from camera_nodes.sources.base import EndOfStream, SourceError
from camera_nodes.sources.packets import CapturedPacket, PacketSource
from pipeline.codec.video import VideoPacket

TO_ANNEXB = {"h264": "h264_mp4toannexb", "hevc": "hevc_mp4toannexb"}
"""The FFmpeg bitstream filter that makes each codec's packets Annex B."""

FFMPEG_CODEC = {"h264": "h264", "hevc": "hevc"}
"""The FFmpeg codec name of each ``codec`` setting."""

NS = 1_000_000_000


class PassthroughSource(PacketSource):
    """Reads a compressed stream with PyAV and hands its packets out unchanged.

    ``clock``: the camera clock in nanoseconds (the node's, with its offset); ``sleep``: how
    a realtime file waits for a packet's time. The first packet handed out is the stream's
    first keyframe (packets before it, as when joining a live stream, are skipped and
    counted in :attr:`skipped`).
    """

    def __init__(
        self,
        config: PassthroughSourceConfig,
        clock: Callable[[], int] = time.time_ns,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config, self.codec = config, config.codec
        self._clock, self._sleep = clock, sleep
        self._container = None
        self.skipped = 0
        """Packets skipped before the first keyframe, over all connects."""
        self.unjoinable = 0
        """Keyframes sent as ordinary packets: no parameter sets for them, over all connects."""

    @property
    def _is_file(self) -> bool:
        """A file ends; a network stream or a device that ends has failed (reconnect)."""
        url = self.config.url
        return not self.config.format and ("://" not in url or url.startswith("file:"))

    def connect(self) -> None:
        cfg = self.config
        try:
            container = av.open(
                cfg.url, format=cfg.format or None, options=dict(cfg.options), timeout=cfg.timeout_s
            )
        except (av.error.FFmpegError, OSError) as e:
            raise SourceError(f"cannot open {cfg.url!r}: {e}") from e
        try:
            self._start(container)
        except SourceError:
            container.close()
            raise

    def _start(self, container) -> None:
        if not container.streams.video:
            raise SourceError(f"{self.config.url!r} has no video stream")
        stream = container.streams.video[0]
        context = stream.codec_context
        if context.name != FFMPEG_CODEC[self.codec]:
            raise SourceError(
                f"{self.config.url!r} is {context.name}, not {self.codec}: set [source] codec"
            )
        if context.has_b_frames:
            raise SourceError(_b_frames(self.config.url, "its reorder delay is set"))
        self._container, self._stream = container, stream
        self._packets = container.demux(stream)
        self._filter = BitStreamFilterContext(TO_ANNEXB[self.codec], stream)
        extradata = bytes(context.extradata or b"")
        annexb = is_annexb(extradata)  # else avcC/hvcC: the filter puts them on keyframes
        self._parameter_sets = parameter_sets(self.codec, extradata) if annexb else b""
        self._size = (context.width, context.height)
        grey = context.format is not None and context.format.name.startswith("gray")
        self._channels = 1 if grey else 3
        self._rate = Fraction(self.config.fps) if self.config.fps else stream.average_rate
        self._stream_id, self._index = secrets.randbits(63), 0
        self._anchor: tuple[float, int] | None = None
        self._last_ns, self._last_pts = None, None
        self._gop_bits: deque[int] = deque()
        self._last_gop: tuple[int, int] = (0, 0)

    def read(self) -> CapturedPacket:
        if self._container is None:
            raise SourceError("passthrough source read before connect()")
        while True:
            keyframe, pts, data = self._next_packet()
            if keyframe:
                keyframe, data = self._joinable(data)
            if keyframe or self._index:
                break
            self.skipped += 1
        capture_ns = self._capture_time(pts)
        packet = VideoPacket(self._stream_id, self._index, keyframe, self._index, data)
        self._index += 1
        width, height = self._size
        bpp = self._bpp(keyframe, data)
        return CapturedPacket(
            packet, capture_ns, width, height, self.config.quality, bpp, self._channels
        )

    def _next_packet(self) -> tuple[bool, int | None, bytes]:
        """The next demuxed packet with data, in Annex B: (keyframe, pts, bytes)."""
        while True:
            try:
                packet = next(self._packets)
            except StopIteration:
                if self._is_file:
                    raise EndOfStream(f"end of {self.config.url}") from None
                raise SourceError(f"{self.config.url!r} ended") from None
            except (av.error.FFmpegError, OSError) as e:
                raise self._lost(f"reading {self.config.url!r} failed: {e}") from e
            if packet.size == 0:
                continue
            keyframe, pts = packet.is_keyframe, packet.pts
            self._check_order(pts)
            return keyframe, pts, self._to_annexb(packet)

    def _to_annexb(self, packet: av.Packet) -> bytes:
        name = TO_ANNEXB[self.codec]
        try:
            out = self._filter.filter(packet)
        except av.error.FFmpegError as e:
            raise self._lost(f"{self.config.url!r}: {name} refuses a packet: {e}") from e
        if len(out) != 1:
            raise self._lost(f"{self.config.url!r}: {name} made {len(out)} packets of one")
        return bytes(out[0])

    def _lost(self, message: str) -> SourceError:
        """The error for a packet lost mid-stream: its index is skipped, so a decoder sees the
        gap and waits for the next keyframe instead of decoding on a missing reference."""
        if self._index:
            self._index += 1
        return SourceError(message)

    def _check_order(self, pts: int | None) -> None:
        if pts is None:
            return
        if self._last_pts is not None and pts < self._last_pts:
            raise SourceError(_b_frames(self.config.url, f"pts {pts} after {self._last_pts}"))
        self._last_pts = pts

    def _joinable(self, data: bytes) -> tuple[bool, bytes]:
        """A keyframe with its parameter sets: its own (remembered for later keyframes), else
        the last seen or the extradata's put in front. Without any it is no join point: sent
        as an ordinary packet (``keyframe`` false), counted in :attr:`unjoinable`."""
        if has_parameter_sets(self.codec, data):
            self._parameter_sets = parameter_sets(self.codec, data)
            return True, data
        if self._parameter_sets:
            return True, self._parameter_sets + data
        self.unjoinable += 1
        return False, data

    def _capture_time(self, pts: int | None) -> int:
        """The camera-clock time of the packet with stream timestamp ``pts``."""
        now = self._clock()
        offset = self._stream_offset(pts)
        if offset is None:
            mapped = now
        else:
            if self._anchor is None:
                self._anchor = (offset, now)
            mapped = self._anchor[1] + round((offset - self._anchor[0]) * NS)
            if not self._is_file:
                mapped = self._follow(offset, mapped, now)
            elif self.config.realtime:
                mapped = self._pace(offset, mapped, now)
        if self._last_ns is not None and mapped <= self._last_ns:
            mapped = self._last_ns + 1
        self._last_ns = mapped
        return mapped

    def _pace(self, offset: float, mapped: int, now: int) -> int:
        """Wait until ``mapped``; re-anchor at ``now`` when it is over ``resync_s`` away."""
        ahead = (mapped - now) / NS
        if abs(ahead) > self.config.resync_s:
            self._anchor = (offset, now)
            return now
        if ahead > 0:
            self._sleep(ahead)
        return mapped

    def _follow(self, offset: float, mapped: int, now: int) -> int:
        """A live stream: keep the anchor at its least delayed packet (re-anchor at ``now``
        when a packet comes earlier than its time), and re-anchor when one is over
        ``resync_s`` late; never wait (the camera paces the stream)."""
        if mapped > now or now - mapped > self.config.resync_s * NS:
            self._anchor = (offset, now)
            return now
        return mapped

    def _stream_offset(self, pts: int | None) -> float | None:
        """Seconds into the stream: by ``pts`` where the packet has one, else by its count at
        the frame rate; None without either (the packet's time is its arrival)."""
        if pts is not None and self._stream.time_base:
            return float(pts * self._stream.time_base)
        if self._rate:
            return float(self._index / self._rate)
        return None

    def _bpp(self, keyframe: bool, data: bytes) -> float:
        """Bits per pixel over the last complete keyframe interval (until there is one: over
        the packets since the first keyframe)."""
        if keyframe and self._gop_bits:
            self._last_gop = (sum(self._gop_bits), len(self._gop_bits))
            self._gop_bits.clear()
        self._gop_bits.append(len(data) * 8)
        bits, count = self._last_gop
        if not count:
            bits, count = sum(self._gop_bits), len(self._gop_bits)
        width, height = self._size
        return bits / (count * max(width * height, 1))

    def disconnect(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None


def _b_frames(url: str, evidence: str) -> str:
    return (
        f"{url!r} has B-frames ({evidence}): pass-through takes streams of one frame a packet "
        "in display order; configure the camera for baseline profile or zero latency (no "
        "B-frames), or use an opencv source to re-encode"
    )
