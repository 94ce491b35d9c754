"""What a video camera sent, as a receiver reads it: the messages off a PULL socket and the
images of their stream."""

from __future__ import annotations

import numpy as np
import zmq

from pipeline.codec.bitstream.container import parse
from pipeline.codec.video import VideoStreamDecoder
from pipeline.codec.video.camera import packet_of
from pipeline.wire import decode_frame


def receive_all(sock: zmq.Socket, first_timeout_ms: int = 60_000) -> list:
    """Every message until the camera has been quiet for 2 s (the first may take a while)."""
    got, timeout = [], first_timeout_ms
    while sock.poll(timeout):
        got.append(decode_frame(sock.recv_multipart()))
        timeout = 2000
    return got


def decode_stream(codec: str, messages: list) -> list[np.ndarray]:
    """The images of the messages' stream, decoded in order as a receiver would."""
    decoder = VideoStreamDecoder(codec, 3)
    images = []
    for header, payload in messages:
        bits = parse(payload)
        shape = (bits.header.height, bits.header.width)
        outcome = decoder.decode(packet_of(header.stream, bits.strings[0]), shape)
        assert outcome.dropped is None, (header.seq, outcome.dropped)
        images.append(outcome.image)
    return images
