"""Receive frame messages on one bound PULL socket, check them, and feed the pairer.

Every message is checked before it is queued: the wire header (``pipeline.wire.decode_frame``),
then the bitstream's own header (``pipeline.codec.bitstream.container.parse``, once) against the
wire header. A video frame (protocol version 2) is then decoded in its stream
(:mod:`decoder_node.streams`) and goes on with its pixels; one its stream drops asks its
camera for a keyframe (:mod:`decoder_node.keyframe_requests`, when configured). A message
without a usable frame header is counted in ``malformed_messages_total{reason}``; a frame with a
known rig and side that fails a later check or its stream's decode in
``frames_dropped_total{reason}``. Nothing raises out of :meth:`Receiver.handle`. The receive
thread also owns the :class:`~decoder_node.pairing.Pairer` and expires its waiting frames
between polls.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import zmq
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from decoder_node.auth import bind_socket, bound_endpoint
from decoder_node.config import ReceiverConfig
from decoder_node.frames import ReceivedFrame, StereoItem
from decoder_node.keyframe_requests import KeyframeRequester
from decoder_node.metrics import (
    BPP_BUCKETS,
    LATENCY_BUCKETS,
    SIDES,
    FrameDrops,
    RigSeries,
    metric_name,
    publish_setting,
    zero_series,
)
from decoder_node.pairing import Pairer
from decoder_node.streams import StreamDecoders
from pipeline.codec import Role
from pipeline.codec.bitstream.container import Bitstream, parse
from pipeline.codec.bitstream.errors import BitstreamError
from pipeline.codec.bitstream.limits import ImageLimits
from pipeline.codec.family import family_of_model
from pipeline.wire import (
    MAX_HEADER_BYTES,
    MAX_PAYLOAD_BYTES,
    SUPPORTED_VERSIONS,
    FrameHeader,
    ProtocolError,
    UnsupportedVersionError,
    decode_frame,
)

log = logging.getLogger(__name__)

ROLE_OF_SIDE = {"left": Role.PRIMARY, "right": Role.SIDE}
RECEIVED_VERSIONS = frozenset(SUPPORTED_VERSIONS)
"""Wire versions this receiver takes: 1 (image codecs) and 2 (a video stream's packets, decoded
at receive). A decoder before this one refuses version 2 as ``unsupported_version``."""
REFUSAL_REASONS = (
    "malformed",
    "unsupported_version",
    "too_many_rigs",
    "wrong_rig",
    "wrong_side",
    "wrong_shard",
)
"""Every ``reason`` of ``malformed_messages_total`` (``docs/metrics.md``)."""
BURST = 256


class ReceiverMetrics:
    """Receive-side metrics, created in the daemon's registry; the rig-labelled ones tracked in
    ``rigs``; ``max_rigs`` exported for alerts."""

    def __init__(self, registry: CollectorRegistry, rigs: RigSeries, max_rigs: int) -> None:
        self.received = Counter(
            metric_name("frames_received_total"),
            "Frame messages with a valid wire header.",
            ("rig", "side"),
            registry=registry,
        )
        self.received_bytes = Counter(
            metric_name("received_bytes_total"),
            "Bitstream bytes of received frames.",
            ("rig", "side"),
            registry=registry,
        )
        self.malformed = Counter(
            metric_name("malformed_messages_total"),
            "Messages dropped before a frame header could be trusted, by reason.",
            ("reason",),
            registry=registry,
        )
        self.bpp = Histogram(
            metric_name("bits_per_pixel"),
            "Coded bits per pixel of received frames (payload bytes * 8 / pixels).",
            ("side",),
            buckets=BPP_BUCKETS,
            registry=registry,
        )
        self.rigs_released = Counter(
            metric_name("rig_slots_released_total"),
            "Rig slots given to a new rig after their rig was silent rig_idle_s.",
            registry=registry,
        )
        publish_setting(
            registry, "rig_slots", "Rig ids accepted at once ([receiver] max_rigs).", max_rigs
        )
        self.rig_slots_used = Gauge(
            metric_name("rig_slots_used"),
            "Rig slots held by a rig.",
            registry=registry,
        )
        self.network = Histogram(
            metric_name("network_latency_seconds"),
            "Camera send time (camera clock) to receive time (decoder clock).",
            ("side",),
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        zero_series((self.malformed,), REFUSAL_REASONS)
        zero_series((self.bpp, self.network), SIDES)
        rigs.track(self.received, SIDES)
        rigs.track(self.received_bytes, SIDES)


class Receiver:
    """The PULL socket, its checks, and the receive loop that feeds pairer and batcher."""

    def __init__(
        self,
        cfg: ReceiverConfig,
        pairer: Pairer,
        emit: Callable[[StereoItem], None],
        drops: FrameDrops,
        registry: CollectorRegistry,
        context: zmq.Context,
        limits: ImageLimits | None = None,
        secure: Callable[[zmq.Socket], None] | None = None,
        owns: Callable[[str], bool] | None = None,
        hardware: bool = False,
        requests: KeyframeRequester | None = None,
    ) -> None:
        """``secure``: makes the socket a CURVE server (ZAP domain ``cameras``) before it binds;
        then every frame's ``rig_id`` must be its connection's authenticated rig. ``owns``: the
        rigs of this decoder's shard; another rig's frame is refused as ``wrong_shard``.
        ``hardware``: video streams try NVDEC before the CPU decoder. ``requests``: asks a
        video camera for a keyframe when its stream drops a frame (opened by the caller; used
        by the receive thread only)."""
        self._cfg = cfg
        self._limits = limits or ImageLimits()
        self._secure = secure
        self._owns = owns
        self._pairer = pairer
        self._emit = emit
        self._drops = drops
        self._metrics = ReceiverMetrics(registry, drops.rigs, cfg.max_rigs)
        self._streams = StreamDecoders(registry, drops.rigs, self._limits, hardware)
        self._requests = requests
        self._context = context
        self._socket: zmq.Socket | None = None
        self._rigs: dict[str, float] = {}  # rig -> when its last frame came (monotonic)

    @property
    def endpoint(self) -> str:
        """The bound endpoint (with the real port when the config asked for port 0)."""
        return bound_endpoint(self._socket, self._cfg.bind)

    def open(self) -> None:
        """Create and bind the PULL socket (raises ``zmq.ZMQError`` if the bind fails)."""
        options = {
            zmq.RCVHWM: self._cfg.rcvhwm,
            zmq.MAXMSGSIZE: MAX_PAYLOAD_BYTES + MAX_HEADER_BYTES,  # hostile peers
        }
        self._socket = bind_socket(self._context, zmq.PULL, self._cfg.bind, options, self._secure)

    def close(self) -> None:
        """Close the socket without lingering."""
        if self._socket is not None:
            self._socket.close(linger=0)
            self._socket = None

    def run(self, stop: threading.Event) -> None:
        """Receive until ``stop`` is set; between polls release frames that waited too long."""
        if self._socket is None:
            raise RuntimeError("Receiver.run before open")
        poller = zmq.Poller()
        poller.register(self._socket, zmq.POLLIN)
        while not stop.is_set():
            if poller.poll(self._cfg.poll_ms):
                self._receive_burst()
            for item in self._pairer.expire(time.monotonic()):
                self._emit(item)

    def _receive_burst(self) -> None:
        assert self._socket is not None
        for _ in range(BURST):
            try:
                frames = self._socket.recv_multipart(flags=zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            self.handle(frames, time.time_ns(), time.monotonic())

    def handle(self, frames: Sequence[Any], recv_ns: int, now: float) -> None:
        """Check one message and pass its frame to the pairer; count and drop it if bad."""
        frame = self._accept(frames, recv_ns, now)
        if frame is None:
            return
        for item in self._pairer.add(frame, now):
            self._emit(item)

    def _accept(self, frames: Sequence[Any], recv_ns: int, now: float) -> ReceivedFrame | None:
        try:
            header, payload = decode_frame(frames)
            if header.version not in RECEIVED_VERSIONS:
                raise UnsupportedVersionError(header.version)
        except UnsupportedVersionError:
            self._metrics.malformed.labels("unsupported_version").inc()
            return None
        except ProtocolError as e:
            log.debug("malformed message: %s", e)
            self._metrics.malformed.labels("malformed").inc()
            return None
        refusal = None if self._secure is None else _key_refusal(_user_id(frames), header)
        if refusal is not None:
            self._metrics.malformed.labels(refusal).inc()
            return None
        if self._owns is not None and not self._owns(header.rig_id):
            self._metrics.malformed.labels("wrong_shard").inc()
            return None
        if not self._rig_allowed(header.rig_id, now):
            self._metrics.malformed.labels("too_many_rigs").inc()
            return None
        frame = ReceivedFrame(header, payload, recv_ns, now)
        self._count_received(frame)
        checked = self._check_bitstream(frame)
        if isinstance(checked, str):
            self._drops.drop(frame.rig, frame.side, checked)
            return None
        if header.stream is None:
            return dataclasses.replace(frame, weights_hash=checked.header.weights_hash)
        return self._decode_stream(frame, checked, now)

    def _decode_stream(
        self, frame: ReceivedFrame, bits: Bitstream, now: float
    ) -> ReceivedFrame | None:
        """A video frame with its pixels, decoded in its stream; None (counted) if dropped,
        and then its camera is asked for a keyframe."""
        if len(bits.strings) != 1:  # a video container holds the packet, nothing else
            self._drops.drop(frame.rig, frame.side, "bad_bitstream")
            return None
        result = self._streams.decode(frame, bits.strings[0])
        if result.dropped is not None:
            self._drops.drop(frame.rig, frame.side, result.dropped)
            if self._requests is not None:
                self._requests.on_drop(frame, result.dropped, now)
            return None
        return dataclasses.replace(
            frame,
            weights_hash=bits.header.weights_hash,
            pixels=result.image,
            stream_s=result.seconds,
        )

    def _rig_allowed(self, rig: str, now: float) -> bool:
        """A slot for ``rig``: its own, a free one, or the slot of the rig silent the longest
        once that one has been silent ``rig_idle_s`` (made-up rig ids cannot hold every slot
        for ever). A released rig's series go with its slot, after its waiting frames."""
        if rig not in self._rigs and len(self._rigs) >= self._cfg.max_rigs:
            idle = min(self._rigs, key=self._rigs.__getitem__)
            if now - self._rigs[idle] < self._cfg.rig_idle_s:
                return False
            for item in self._pairer.forget(idle, now):
                self._emit(item)
            silent = now - self._rigs.pop(idle)
            self._streams.release(idle)
            self._drops.rigs.release(idle)
            self._metrics.rigs_released.inc()
            log.info("rig %s silent for %.0f s: its slot goes to rig %s", idle, silent, rig)
        if rig not in self._rigs:
            self._drops.rigs.add(rig)
            self._metrics.rig_slots_used.set(len(self._rigs) + 1)
        self._rigs[rig] = now
        return True

    def _count_received(self, frame: ReceivedFrame) -> None:
        m = self._metrics
        m.received.labels(frame.rig, frame.side).inc()
        m.received_bytes.labels(frame.rig, frame.side).inc(len(frame.payload))
        m.bpp.labels(frame.side).observe(frame.bits_per_pixel)
        network = (frame.recv_ns - frame.header.send_ns) / 1e9
        m.network.labels(frame.side).observe(max(0.0, network))

    def _check_bitstream(self, frame: ReceivedFrame) -> str | Bitstream:
        """The parsed bitstream if it reads and its header agrees with the wire header, else a
        reason (parsed once: a video frame's packet is its string).

        Both declared shapes are checked against the limits first: the wire header's before the
        payload is read, the container's before it is compared. A video stream's frame (the
        wire's ``stream``) must carry a model of that stream's codec, and only it may.
        """
        try:
            self._limits.check(*frame.shape[:2])
            parsed = parse(frame.payload)
            bits = parsed.header
            self._limits.check(bits.height, bits.width)
        except BitstreamError as e:
            log.debug("bad bitstream from %s %s: %s", frame.rig, frame.side, e)
            return "bad_bitstream"
        except Exception:  # a reader bug on hostile bytes must not stop the receive loop
            log.exception("parsing the bitstream failed on a frame from %s", frame.rig)
            return "bad_bitstream"
        wire = frame.header
        same = (bits.height, bits.width, bits.channels, bits.model_id, bits.quality) == (
            *frame.shape,
            wire.model_id,
            wire.quality,
        )
        if not same or bits.role != ROLE_OF_SIDE[frame.side]:
            return "header_mismatch"
        if _stream_codec(bits.model_id) != (None if wire.stream is None else wire.stream.codec):
            return "header_mismatch"
        return parsed


def _stream_codec(model_id: str) -> str | None:
    """The stream codec whose packets ``model_id``'s containers carry (None: frames that stand
    alone, or a model no family knows, which decoding refuses as ``model_mismatch``)."""
    family = family_of_model(model_id)
    return None if family is None else family.stream_codec(model_id)


def _key_refusal(user_id: str | None, header: FrameHeader) -> str | None:
    """``wrong_rig`` or ``wrong_side`` when the frame is not the connection key's to send: its
    ``User-Id`` is ``rig/side``, or the rig alone (a legacy key: either side)."""
    rig, _, side = (user_id or "").partition("/")
    if rig != header.rig_id:
        return "wrong_rig"
    if side and side != header.side:
        return "wrong_side"
    return None


def _user_id(frames: Sequence[Any]) -> str | None:
    """The authenticated camera of the connection a message came on (CURVE ZAP ``User-Id``)."""
    try:
        return frames[0].get("User-Id")
    except (AttributeError, zmq.ZMQError):
        return None
