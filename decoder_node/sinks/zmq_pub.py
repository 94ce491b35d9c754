"""Republish decoded frames on a bound ZeroMQ PUB socket.

Each view is one multipart message: ``[msgpack header, raw pixels]``. The header is a map with
``version`` (1), ``rig_id``, ``view`` (``left``, ``left_alone``, ``right``), ``seq``,
``capture_ns``, ``height``, ``width``, ``channels``, ``dtype`` (``"uint8"``) and ``with_si``.
The topic is the header part, so subscribers subscribe to ``b""``. PUB never blocks: beyond
``sndhwm`` messages per subscriber ZeroMQ drops them (documented PUB behaviour). A subscriber
that sends more than :data:`SUBSCRIBER_MAX_BYTES` at once is disconnected; with ``[security]``
only subscribers whose keys are on ``[security] subscribers`` connect (``decoder_node.auth``).
"""

from __future__ import annotations

from collections.abc import Callable

import msgpack
import numpy as np
import zmq

from decoder_node.auth import bind_socket
from decoder_node.config import ZmqSinkConfig
from decoder_node.frames import DecodedItem
from decoder_node.sinks.base import Sink

REPUBLISH_VERSION = 1
SUBSCRIBER_MAX_BYTES = 4096
"""``MAXMSGSIZE`` of the PUB socket: what a subscriber sends is a subscription (a topic; here
``b""``) and, with CURVE, its handshake (a few hundred bytes); a larger message ends its
connection."""


class ZmqPubSink(Sink):
    """Publish every decoded view to subscribers."""

    name = "zmq"

    def __init__(
        self,
        cfg: ZmqSinkConfig,
        context: zmq.Context | None = None,
        secure: Callable[[zmq.Socket], None] | None = None,
    ) -> None:
        """``secure``: makes the socket a CURVE server before it binds (docs/security.md)."""
        self._cfg = cfg
        self._context = context or zmq.Context.instance()
        self._secure = secure
        self._socket: zmq.Socket | None = None

    def open(self) -> None:
        """Bind the PUB socket."""
        options = {zmq.SNDHWM: self._cfg.sndhwm, zmq.MAXMSGSIZE: SUBSCRIBER_MAX_BYTES}
        self._socket = bind_socket(self._context, zmq.PUB, self._cfg.bind, options, self._secure)

    def write(self, decoded: DecodedItem) -> None:
        """Send one message per view present."""
        if self._socket is None:
            raise RuntimeError("ZmqPubSink.write before open")
        item = decoded.item
        for view, image in decoded.images().items():
            if view == "left_alone" and not self._cfg.left_alone:
                continue
            frame = item.right if view == "right" else item.left
            if frame is None:
                continue
            header = _header(item.rig, view, frame.seq, frame.capture_ns, image)
            header["with_si"] = view == "left" and item.right is not None
            pixels = np.ascontiguousarray(image)
            self._socket.send_multipart(
                [msgpack.packb(header), memoryview(pixels).cast("B")], copy=False
            )

    def close(self) -> None:
        """Close the socket without lingering."""
        if self._socket is not None:
            self._socket.close(linger=0)
            self._socket = None


def _header(rig: str, view: str, seq: int, capture_ns: int, image: np.ndarray) -> dict:
    return {
        "version": REPUBLISH_VERSION,
        "rig_id": rig,
        "view": view,
        "seq": seq,
        "capture_ns": capture_ns,
        "height": int(image.shape[0]),
        "width": int(image.shape[1]),
        "channels": int(image.shape[2]) if image.ndim == 3 else 1,
        "dtype": "uint8",
    }
