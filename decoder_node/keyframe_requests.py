"""Keyframe requests back to the cameras: the decoder's half of RTCP's PLI (``docs/protocol.md``).

When a video stream drops a packet at receive (``stream_gap``, ``waiting_keyframe``,
``corrupt_packet``, ``decode_error``: it waits for a keyframe), the receiver asks the stream's
camera for one at once instead of waiting for the periodic keyframe. The request
(:class:`~pipeline.wire.KeyframeRequest`, with the stream id and packet of the dropped frame)
goes out on a bound PUB socket that every video camera SUB-connects to, subscribed to its own
``rig_id/side``. At most one request a stream per ``interval_s`` (:class:`RequestLimiter`): a
storm of lost packets costs at most one forced keyframe an interval; a lost request is sent
again by the stream's next dropped packet once the interval has passed, as its packets keep
being dropped until a keyframe comes.

PUB never blocks: a request to a camera that is not connected, or beyond ``sndhwm``, is
dropped by ZeroMQ (the camera reconnects with a new stream, which starts with a keyframe).
The socket is used by the receive thread only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import zmq
from prometheus_client import CollectorRegistry, Counter

from decoder_node.auth import bind_socket, bound_endpoint
from decoder_node.config import KeyframeRequestConfig
from decoder_node.frames import ReceivedFrame
from decoder_node.metrics import SIDES, RigSeries, metric_name
from decoder_node.streams import STREAM_DROP_REASONS
from pipeline.wire import KeyframeRequest, encode_request

log = logging.getLogger(__name__)

REQUEST_REASONS = (*STREAM_DROP_REASONS, "decode_error")
"""The drops that leave a stream waiting for a keyframe: each sends a request (rate limited),
the ``reason`` label of ``keyframe_requests_total``."""


class RequestLimiter:
    """At most one request per stream (rig, side) every ``interval_s`` seconds."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._last: dict[tuple[str, str], float] = {}  # (rig, side) -> last request (monotonic)

    def due(self, key: tuple[str, str], now: float) -> bool:
        """True (and the time noted) when ``key``'s stream may be sent a request at ``now``."""
        last = self._last.get(key)
        if last is not None and now - last < self.interval_s:
            return False
        self._last[key] = now
        return True

    def forget(self, rig: str) -> None:
        """Drop what is kept of ``rig`` (its slot was released)."""
        for side in SIDES:
            self._last.pop((rig, side), None)


class KeyframeRequester:
    """The bound PUB socket of keyframe requests, its rate limit and its counter
    (``stereo_decoder_keyframe_requests_total{rig, side, reason}``, tracked in ``rigs``)."""

    def __init__(
        self,
        cfg: KeyframeRequestConfig,
        registry: CollectorRegistry,
        rigs: RigSeries,
        context: zmq.Context,
        secure: Callable[[zmq.Socket], None] | None = None,
    ) -> None:
        """``secure``: makes the socket a CURVE server before it binds (cameras' keys)."""
        self._cfg = cfg
        self._context = context
        self._secure = secure
        self._limiter = RequestLimiter(cfg.interval_s)
        self._socket: zmq.Socket | None = None
        self._sent = Counter(
            metric_name("keyframe_requests_total"),
            "Keyframe requests sent to a video camera after its stream dropped a packet, by "
            "the drop's reason (at most one a stream per [keyframe_requests] interval_s).",
            ("rig", "side", "reason"),
            registry=registry,
        )
        self._rigs = rigs
        if cfg.bind:  # off, the family is still exposed (documented), with no series
            rigs.track(self._sent, SIDES, REQUEST_REASONS)
        rigs.on_release(self._limiter.forget)

    @property
    def endpoint(self) -> str:
        """The bound endpoint (the real port when the config asked for any)."""
        return bound_endpoint(self._socket, self._cfg.bind)

    def open(self) -> None:
        """Create and bind the PUB socket (raises ``zmq.ZMQError`` if the bind fails)."""
        options = {zmq.SNDHWM: self._cfg.sndhwm}
        self._socket = bind_socket(self._context, zmq.PUB, self._cfg.bind, options, self._secure)

    def close(self) -> None:
        """Close the socket without lingering."""
        if self._socket is not None:
            self._socket.close(linger=0)
            self._socket = None

    def on_drop(self, frame: ReceivedFrame, reason: str, now: float) -> bool:
        """``frame``'s stream dropped it for ``reason`` at ``now`` (monotonic): ask its camera
        for a keyframe unless the stream was asked within the interval. True if sent."""
        stream = frame.header.stream
        if self._socket is None or stream is None or not self._limiter.due(frame.key, now):
            return False
        request = KeyframeRequest(frame.rig, frame.side, stream.id, stream.packet)
        try:
            self._socket.send_multipart(encode_request(request), flags=zmq.NOBLOCK)
        except zmq.ZMQError as e:  # PUB drops rather than blocks; anything else: not sent
            log.debug("keyframe request to %s %s not sent: %s", frame.rig, frame.side, e)
            return False
        child = self._rigs.labels(self._sent, frame.rig, frame.side, reason)
        if child is not None:
            child.inc()
        return True
