"""A stand-in for the camera nodes of several rigs: pre-encoded frames over the real protocol.

One thread sends, ``fps`` times a second, the left and right view of every rig with one capture
time (a triggered rig), each view to the endpoint its route names; :meth:`FrameSender.route`
moves a rig's views (both, or one at a time as two camera units restarted one after the other)
between two frames. Every frame sent is
recorded, so a test can compare what reached the decoders with what left.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
import zmq

from pipeline.codec import Role, read_header
from pipeline.codec.encode import StandardEncoder
from pipeline.wire import PROTOCOL_VERSION, FrameHeader, encode_frame


@dataclass(frozen=True)
class Sent:
    """One frame that left the sender."""

    rig: str
    side: str
    seq: int
    capture_ns: int
    endpoint: str


def encoded_pair(height: int = 48, width: int = 64) -> dict[str, bytes]:
    """A JPEG left (primary) and right (side) view of a small synthetic image."""
    rng = np.random.default_rng(7)
    image = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    image = np.clip(image.astype(np.int16) // 4 + 96, 0, 255).astype(np.uint8)
    encoder = StandardEncoder("jpeg")
    return {"left": encoder.encode(image, Role.PRIMARY, 50),
            "right": encoder.encode(image, Role.SIDE, 50)}  # fmt: skip


def frame_message(rig: str, side: str, seq: int, capture_ns: int, data: bytes) -> list[bytes]:
    """The wire message of one view."""
    h = read_header(data)
    header = FrameHeader(
        PROTOCOL_VERSION, rig, side, seq, capture_ns, time.time_ns(),
        h.model_id, h.quality, h.height, h.width, h.channels,
    )  # fmt: skip
    return encode_frame(header, data)


class FrameSender:
    """Send every routed rig's two views at ``fps`` from a thread until :meth:`stop`.

    Like a camera node, each view has its own PUSH socket holding at most ``buffer`` frames
    (a node's ``sndhwm`` plus ``send_queue``: 12 at the defaults) while its decoder is away;
    a frame beyond that is not sent and is recorded in :attr:`dropped`.
    """

    def __init__(self, routes: dict[str, str], fps: float, buffer: int = 12) -> None:
        self._routes = {(rig, side): e for rig, e in routes.items() for side in ("left", "right")}
        self._period, self._buffer = 1.0 / fps, buffer
        self._views = encoded_pair()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.sent: list[Sent] = []
        self.dropped: list[Sent] = []
        self._thread = threading.Thread(target=self._run, name="frame-sender", daemon=True)

    def start(self) -> None:
        """Start sending."""
        self._thread.start()

    def route(self, rig: str, endpoint: str, sides: tuple[str, ...] = ("left", "right")) -> None:
        """Send the next frames of ``rig``'s ``sides`` to ``endpoint``."""
        with self._lock:
            self._routes.update({(rig, side): endpoint for side in sides})

    def stop(self) -> list[Sent]:
        """Stop sending and return every frame sent."""
        self._stop.set()
        self._thread.join(10.0)
        return list(self.sent)

    def _run(self) -> None:
        context = zmq.Context()
        sockets: dict[tuple[str, str, str], zmq.Socket] = {}
        seq = 0
        try:
            while not self._stop.wait(self._period):
                with self._lock:  # a frame captured after route() returned takes its route
                    routes, capture = dict(self._routes), time.time_ns()
                for (rig, side), endpoint in routes.items():
                    push = self._socket(context, sockets, (rig, side, endpoint))
                    self._send(push, Sent(rig, side, seq, capture, endpoint))
                seq += 1
        finally:
            for push in sockets.values():
                push.close()
            context.term()

    def _socket(self, context: zmq.Context, sockets: dict, key: tuple[str, str, str]):
        if key not in sockets:
            sockets[key] = push = context.socket(zmq.PUSH)
            push.setsockopt(zmq.SNDHWM, self._buffer)
            push.setsockopt(zmq.LINGER, 2000)
            push.connect(key[2])
        return sockets[key]

    def _send(self, push: zmq.Socket, frame: Sent) -> None:
        message = frame_message(frame.rig, frame.side, frame.seq, frame.capture_ns,
                                self._views[frame.side])  # fmt: skip
        try:
            push.send_multipart(message, flags=zmq.NOBLOCK)
        except zmq.Again:
            self.dropped.append(frame)
        else:
            self.sent.append(frame)
