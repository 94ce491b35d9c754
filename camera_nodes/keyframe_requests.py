"""Keyframe requests from the decoder: the camera's half of RTCP's PLI (``docs/protocol.md``).

A video camera with ``keyframe_requests_endpoint`` SUB-connects to the decoder's request
socket, subscribed to its own ``rig_id/side`` topic. The capture thread, the socket's only
user (ZeroMQ sockets are not thread-safe), reads what has come just before it encodes a frame
(:meth:`KeyframeRequests.take`): a request for the stream it is coding makes that frame a
keyframe, unless a keyframe has been coded since the packet the request names (the send
queue's forced one after its own drop, or a periodic one: the loss is already repaired); one
for another stream (sent before the camera restarted or started a new stream) is stale and
ignored; a message that does not parse is ignored too. A pass-through camera
codes nothing, so it cannot honour a request: it counts and ignores every one
(:meth:`KeyframeRequests.ignore_all`). Each request is counted in
``stereo_camera_keyframe_requests_total{outcome}`` (:data:`REQUEST_OUTCOMES`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import zmq

from pipeline.wire import KeyframeRequest, ProtocolError, StreamInfo, decode_request, request_topic

log = logging.getLogger(__name__)

REQUEST_OUTCOMES = ("honoured", "already_keyframe", "stale_stream", "malformed", "passthrough")
"""The ``outcome`` label of ``stereo_camera_keyframe_requests_total``."""
RCVHWM = 16
"""Requests held for the capture thread; more in one frame time cost nothing more."""


class KeyframeRequests:
    """The SUB socket of one camera's keyframe requests."""

    def __init__(
        self,
        endpoint: str,
        rig_id: str,
        side: str,
        counters: Mapping[str, Any],
        secure: Callable[[zmq.Socket], None] | None = None,
    ) -> None:
        """``counters``: a counter (``inc()``) for each of :data:`REQUEST_OUTCOMES`;
        ``secure``: makes the socket a CURVE client (the camera's keys) before it connects."""
        self.endpoint = endpoint
        self._topic = request_topic(rig_id, side)
        self._counters = counters
        self._secure = secure
        self._socket: zmq.Socket | None = None
        self._stream_id: int | None = None  # the stream being coded
        self._keyframe: tuple[int, int] | None = None  # (stream id, packet) of its last keyframe

    def open(self, context: zmq.Context) -> None:
        """Create the SUB socket, subscribe to this camera's topic and connect (lazily: the
        decoder may come later, and ZeroMQ reconnects after it restarts)."""
        sock = context.socket(zmq.SUB)
        sock.setsockopt(zmq.RCVHWM, RCVHWM)
        sock.setsockopt(zmq.LINGER, 0)
        if self._secure is not None:
            self._secure(sock)
        sock.setsockopt(zmq.SUBSCRIBE, self._topic)
        sock.connect(self.endpoint)
        self._socket = sock
        log.info("keyframe requests from %s (topic %s)", self.endpoint, self._topic.decode())

    def close(self) -> None:
        """Close the socket (before the context terminates)."""
        if self._socket is not None:
            self._socket.close(linger=0)
            self._socket = None

    def coded(self, stream: StreamInfo) -> None:
        """The encoder has coded the packet ``stream`` (what :meth:`take` checks requests
        against: the stream being coded, and its last keyframe)."""
        if stream.keyframe:
            self._keyframe = (stream.id, stream.packet)
        elif self._keyframe is not None and self._keyframe[0] != stream.id:
            self._keyframe = None  # a new stream (it starts with a keyframe: not yet coded)
        self._stream_id = stream.id

    def take(self) -> bool:
        """Read every request that has come; True when one asks for a keyframe that the
        stream being coded still owes: a request for that stream whose lost packet no keyframe
        has followed yet. Never blocks."""
        wanted = False
        for request in self._received():
            outcome = self._outcome(request)
            self._counters[outcome].inc()
            wanted = wanted or outcome == "honoured"
        return wanted

    def _outcome(self, request: KeyframeRequest) -> str:
        if self._stream_id is None or request.stream_id != self._stream_id:
            return "stale_stream"  # before this stream, or none coded yet (its first: a keyframe)
        if self._keyframe is not None and self._keyframe[1] > request.packet:
            return "already_keyframe"
        return "honoured"

    def ignore_all(self) -> None:
        """Read and count every request that has come, honouring none (a pass-through
        camera's stream is coded elsewhere)."""
        for _ in self._received():
            self._counters["passthrough"].inc()

    def _received(self) -> Iterator[KeyframeRequest]:
        """The valid requests waiting on the socket (the malformed ones counted)."""
        if self._socket is None:
            return
        for _ in range(RCVHWM * 2):
            try:
                parts = self._socket.recv_multipart(flags=zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            try:
                request = decode_request(parts)
            except ProtocolError as e:
                log.debug("malformed keyframe request: %s", e)
                self._counters["malformed"].inc()
                continue
            yield request  # its topic is its rig/side, and no other camera's starts with ours
