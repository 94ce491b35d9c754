"""A stereo sequence through the camera's video encoder and the decoder's stream decoder.

Each view is one stream, coded as a video camera codes it
(:class:`pipeline.codec.video.camera.VideoCameraEncoder`: the camera's settings, its container
around each packet) and decoded as the decoder decodes a received stream
(:func:`pipeline.codec.video.camera.packet_of`, then
:class:`pipeline.codec.video.VideoStreamDecoder`, in order, each packet once). Left and right
are two streams at the same settings. An image of another size starts a new stream, as on a
camera.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from pipeline.codec.api import Role
from pipeline.codec.bitstream.container import parse
from pipeline.codec.video import VideoSettings, VideoStreamDecoder
from pipeline.codec.video.camera import VideoCameraEncoder, packet_of


@dataclass
class CodedView:
    """One frame of one view: the camera's container, the codec's packet size, whether it is a
    keyframe, the decoded image and the seconds its encode and its decode took."""

    container: bytes
    packet_bytes: int
    keyframe: bool
    decoded: np.ndarray
    encode_s: float
    decode_s: float


class ViewStream:
    """One view's stream: the camera's encoder and the receiver's decoder of its packets."""

    def __init__(self, settings: VideoSettings, role: Role) -> None:
        self.settings = settings
        self.role = role
        self.encoder = VideoCameraEncoder(settings)
        self._decoders: dict[int, VideoStreamDecoder] = {}

    def code(self, image: np.ndarray) -> CodedView:
        """Encode ``image`` as the stream's next frame, then decode what the camera sent."""
        start = time.perf_counter()
        container = self.encoder.encode(image, self.role)
        encode_s = time.perf_counter() - start
        stream = self.encoder.stream
        start = time.perf_counter()
        packet = packet_of(stream, parse(container).strings[0])
        outcome = self._decoder(image).decode(packet, image.shape[:2])
        decode_s = time.perf_counter() - start
        if outcome.image is None:
            raise RuntimeError(f"{self.settings.codec} frame {stream.packet}: {outcome.dropped}")
        return CodedView(
            container, len(packet.data), stream.keyframe, outcome.image, encode_s, decode_s
        )

    def close(self) -> None:
        """Free the encoder."""
        self.encoder.close()

    def _decoder(self, image: np.ndarray) -> VideoStreamDecoder:
        channels = 1 if image.ndim == 2 else 3
        if channels not in self._decoders:
            self._decoders[channels] = VideoStreamDecoder(self.settings.codec, channels)
        return self._decoders[channels]


@dataclass
class CodedSequence:
    """A sequence's (left, right) frames as coded and decoded, and the FFmpeg encoder used."""

    frames: list[tuple[CodedView, CodedView]]
    encoder: str | None


def code_sequence(
    settings: VideoSettings, frames: Iterable[tuple[np.ndarray, np.ndarray]]
) -> CodedSequence:
    """Every (left, right) frame coded and decoded, left and right as separate streams."""
    left, right = ViewStream(settings, Role.PRIMARY), ViewStream(settings, Role.SIDE)
    try:
        coded = [(left.code(a), right.code(b)) for a, b in frames]
        return CodedSequence(coded, left.encoder.encoder_name)
    finally:
        left.close()
        right.close()
