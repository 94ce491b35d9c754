"""The receive stage's video decoding: each camera's stream decoded once, in order, before pairing.

A video frame (protocol version 2: its wire header has a ``stream``) decodes only on top of the
frames before it in its stream, so it cannot wait for pairing and batching, which drop frames
(duplicate, backlog full) and decode some twice (batch retries, OOM splits, a pair split into
views). The receive thread decodes every accepted video frame here, through the
:class:`~pipeline.codec.video.VideoStreamDecoder` of its (rig, side), and the frame goes on with
its pixels (``ReceivedFrame.pixels``); stage 1 then takes them as they are (``docs/video.md``).

A stream's decoder is made on its first packet, with the header's channels and the daemon's
``[limits]``; a new codec or channel count on the same (rig, side) replaces it. There are at most
two a rig slot (``[receiver] max_rigs``), and a rig's are freed with its slot. A packet that
cannot be decoded is one of :data:`STREAM_DROP_REASONS` (``stream_gap``, ``waiting_keyframe``,
``corrupt_packet``), counted by the receiver in ``frames_dropped_total``; nothing a packet holds
raises out of :meth:`StreamDecoders.decode`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from decoder_node.frames import ReceivedFrame
from decoder_node.metrics import LATENCY_BUCKETS, SIDES, RigSeries, metric_name, zero_series
from pipeline.codec.bitstream.errors import CorruptBitstreamError
from pipeline.codec.bitstream.limits import ImageLimits
from pipeline.codec.video import VIDEO_CODECS, VideoStreamDecoder
from pipeline.codec.video.camera import packet_of

log = logging.getLogger(__name__)

CORRUPT_PACKET = "corrupt_packet"
STREAM_DROP_REASONS = ("stream_gap", "waiting_keyframe", CORRUPT_PACKET)
"""The ``frames_dropped_total`` reasons of a video frame its stream could not decode."""


class StreamMetrics:
    """Video stream metrics, created in the daemon's registry; ``keyframes`` is tracked in
    ``rigs`` (a rig's series from its first frame, removed with its slot)."""

    def __init__(self, registry: CollectorRegistry, rigs: RigSeries) -> None:
        self.keyframes = Counter(
            metric_name("keyframes_received_total"),
            "Video keyframes received (packets a stream can start or resume from).",
            ("rig", "side"),
            registry=registry,
        )
        self.errors = Counter(
            metric_name("video_decode_errors_total"),
            "Video packets that reached the codec's decoder and failed, by codec.",
            ("codec",),
            registry=registry,
        )
        self.seconds = Histogram(
            metric_name("stream_decode_seconds"),
            "Seconds the receive thread spent decoding one video packet, by codec.",
            ("codec",),
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.open = Gauge(
            metric_name("video_streams_open"),
            "Video streams with a decoder (at most two a rig slot).",
            registry=registry,
        )
        self.waiting = Gauge(
            metric_name("video_streams_waiting_keyframe"),
            "Open video streams that drop their frames until a keyframe comes.",
            registry=registry,
        )
        zero_series((self.errors, self.seconds), VIDEO_CODECS)
        rigs.track(self.keyframes, SIDES)
        self._rigs = rigs

    def count_keyframe(self, frame: ReceivedFrame) -> None:
        """Count one received keyframe of ``frame``'s rig and side."""
        child = self._rigs.labels(self.keyframes, frame.rig, frame.side)
        if child is not None:
            child.inc()


@dataclass(frozen=True)
class StreamResult:
    """What one video frame's stream made of it: ``image`` or why it was ``dropped``, and the
    seconds its decode took (0 when it never reached the codec)."""

    image: np.ndarray | None = None
    dropped: str | None = None
    seconds: float = 0.0


class StreamDecoders:
    """The open video streams of one receiver: a decoder per (rig, side).

    ``hardware``: try NVDEC before the CPU decoder (a decoder whose device is CUDA);
    ``limits``: the daemon's ``[limits]``, applied to every decoded frame.
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        rigs: RigSeries,
        limits: ImageLimits | None = None,
        hardware: bool = False,
    ) -> None:
        self._metrics = StreamMetrics(registry, rigs)
        self._limits = limits or ImageLimits()
        self._hardware = hardware
        self._streams: dict[tuple[str, str], VideoStreamDecoder] = {}
        self._announced: dict[tuple[str, str], str] = {}  # stream -> its FFmpeg decoder

    def __len__(self) -> int:
        return len(self._streams)

    def decode(self, frame: ReceivedFrame, packet: bytes) -> StreamResult:
        """Decode ``packet`` (the one string of ``frame``'s container, which the receiver parsed
        and checked against the wire header); never raises for anything the message holds."""
        stream = frame.header.stream
        assert stream is not None, "StreamDecoders.decode of a frame without a stream"
        if stream.keyframe:
            self._metrics.count_keyframe(frame)
        decoder = self._decoder_for(frame)
        start = time.perf_counter()
        try:
            outcome = decoder.decode(packet_of(stream, packet), frame.shape[:2])
        except CorruptBitstreamError as e:  # ImageTooLargeError too
            return self._failed(frame, decoder, CORRUPT_PACKET, start, e)
        except Exception as e:  # FFmpeg outside BAD_DATA, a bug: counted, never fatal
            log.exception("decoding a %s packet of %s %s failed", stream.codec, *frame.key)
            return self._failed(frame, decoder, "decode_error", start, e)
        finally:
            self._update_gauges()
        if outcome.dropped is not None:
            return StreamResult(dropped=str(outcome.dropped))
        seconds = time.perf_counter() - start
        self._metrics.seconds.labels(stream.codec).observe(seconds)
        self._announce(frame.key, decoder)
        return StreamResult(image=outcome.image, seconds=seconds)

    def decoders(self) -> dict[tuple[str, str], str]:
        """(rig, side) -> the FFmpeg decoder of each open stream that has decoded a frame
        (``h264_cuvid`` on NVDEC, ``h264`` on the CPU ...)."""
        return dict(self._announced)

    def _announce(self, key: tuple[str, str], decoder: VideoStreamDecoder) -> None:
        """Log which FFmpeg decoder a stream got, when it first decodes or changes."""
        if decoder.name is not None and self._announced.get(key) != decoder.name:
            self._announced[key] = decoder.name
            log.info("video stream %s %s: %s, decoded by %s", *key, decoder.codec, decoder.name)

    def release(self, rig: str) -> None:
        """Free the streams of ``rig`` (its slot was released)."""
        for side in SIDES:
            self._streams.pop((rig, side), None)
            self._announced.pop((rig, side), None)
        self._update_gauges()

    def _decoder_for(self, frame: ReceivedFrame) -> VideoStreamDecoder:
        """The stream's decoder; a new one on its first packet or a new codec or channels."""
        key = frame.key
        codec, channels = frame.header.stream.codec, frame.header.channels
        decoder = self._streams.get(key)
        if decoder is None or (decoder.codec, decoder.channels) != (codec, channels):
            decoder = VideoStreamDecoder(codec, channels, self._limits, hardware=self._hardware)
            self._streams[key] = decoder
            self._update_gauges()
        return decoder

    def _failed(
        self,
        frame: ReceivedFrame,
        decoder: VideoStreamDecoder,
        reason: str,
        start: float,
        error: Exception,
    ) -> StreamResult:
        """Count a packet the codec's decoder failed on; the stream waits for a keyframe."""
        decoder.reset()
        self._metrics.errors.labels(decoder.codec).inc()
        log.debug("%s from %s %s: %s", reason, frame.rig, frame.side, error)
        return StreamResult(dropped=reason, seconds=time.perf_counter() - start)

    def _update_gauges(self) -> None:
        self._metrics.open.set(len(self._streams))
        self._metrics.waiting.set(sum(d.waiting for d in self._streams.values()))
