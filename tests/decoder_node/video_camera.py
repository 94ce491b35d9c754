"""A video camera's messages for the decoder's tests: small synthetic images through the real
:class:`~pipeline.codec.video.camera.VideoCameraEncoder`, each with its version 2 wire header."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from decoder_node.frames import ReceivedFrame
from pipeline.codec import Role
from pipeline.codec.bitstream.container import container, parse
from pipeline.codec.video import VideoPacket, VideoSettings, VideoStreamDecoder
from pipeline.codec.video.camera import VideoCameraEncoder, packet_of
from pipeline.wire import FrameHeader, encode_frame, version_for
from tests.conftest import natural_image

SHAPE = (48, 64)
KEYFRAME_EVERY = 4
"""Frames from one keyframe to the next (keyframe interval 0.4 s at 10 fps)."""


@dataclass(frozen=True)
class VideoMessage:
    """One coded frame: its wire header, container, and the image it coded."""

    header: FrameHeader
    payload: bytes
    image: np.ndarray

    @property
    def parts(self) -> list:
        """The multipart message a camera sends."""
        return encode_frame(self.header, self.payload)

    @property
    def packet(self) -> VideoPacket:
        """The stream packet the container carries."""
        assert self.header.stream is not None
        return packet_of(self.header.stream, parse(self.payload).strings[0])

    @property
    def keyframe(self) -> bool:
        """Whether its packet is a keyframe."""
        return self.header.stream is not None and self.header.stream.keyframe

    def with_payload(self, payload: bytes) -> VideoMessage:
        """The same header with another container."""
        return replace(self, payload=payload)


class VideoCamera:
    """One side of a rig coding a moving synthetic scene as an H.264 stream (a keyframe every
    :data:`KEYFRAME_EVERY` frames); every camera is a new stream."""

    def __init__(
        self, side: str = "left", rig: str = "rig0", channels: int = 3, seed: int = 0
    ) -> None:
        self.side, self.rig, self.channels = side, rig, channels
        settings = VideoSettings(codec="h264", keyframe_interval_s=0.4, fps=10.0, crf=30)
        self._encoder = VideoCameraEncoder(settings)
        width = SHAPE[1] + 4 * 64
        self._scene = natural_image(SHAPE[0], width, channels, seed=seed)
        self._seq = 0

    def next(self) -> VideoMessage:
        """The stream's next frame: the scene moved 4 pixels (right views 6 pixels further)."""
        shift = 4 * self._seq + (6 if self.side == "right" else 0)
        image = np.ascontiguousarray(self._scene[:, shift : shift + SHAPE[1]])
        role = Role.PRIMARY if self.side == "left" else Role.SIDE
        payload = self._encoder.encode(image, role)
        stream = self._encoder.stream
        capture_ns = 10**18 + self._seq * 100_000_000
        header = FrameHeader(
            version_for(stream),
            self.rig,
            self.side,
            self._seq,
            capture_ns,
            capture_ns + 1000,
            self._encoder.model_id,
            self._encoder.default_quality,
            SHAPE[0],
            SHAPE[1],
            self.channels,
            stream,
        )
        self._seq += 1
        return VideoMessage(header, payload, image)

    def take(self, count: int) -> list[VideoMessage]:
        """The next ``count`` frames."""
        return [self.next() for _ in range(count)]


def received(message: VideoMessage, pixels: np.ndarray) -> ReceivedFrame:
    """``message`` as the receiver hands it on, with the ``pixels`` its stream decoded."""
    weights_hash = parse(message.payload).header.weights_hash
    return ReceivedFrame(message.header, message.payload, 0, 0.0, weights_hash, pixels)


def corrupt(message: VideoMessage) -> VideoMessage:
    """``message`` with its packet replaced by noise inside a valid container (its CRC fits)."""
    header = parse(message.payload).header
    noise = np.random.default_rng(5).integers(0, 256, 300, dtype=np.uint8).tobytes()
    payload = container(
        message.image, header.model_id, header.weights_hash, header.quality, header.role, (noise,)
    )
    return message.with_payload(payload)


def direct_decode(messages: list[VideoMessage], channels: int = 3) -> list[np.ndarray | None]:
    """Each message's image through one :class:`VideoStreamDecoder` fed in order (None where
    it drops the packet)."""
    decoder = VideoStreamDecoder("h264", channels)
    return [decoder.decode(m.packet).image for m in messages]
