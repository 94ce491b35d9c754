"""What the capture side hands the sender: a coded frame with everything of its header but
``send_ns``, whether an encoder made it or a pass-through source's packet is sent as it came.

A pass-through packet (:class:`~camera_nodes.sources.CapturedPacket`) goes out without any
encoder (``docs/video.md``, Pass-through): the packet's bytes, unchanged, are the container's
one string, under the camera codec's model id and its SI-Net's weights hash, with the quality
``100 - crf`` of the stream's nominal CRF (what the SI-Net is told), the packet's stream id,
index and keyframe flag, and its capture time.
"""

from __future__ import annotations

from dataclasses import dataclass

from camera_nodes.send_queue import StreamLink
from camera_nodes.sources.packets import CapturedPacket
from pipeline.codec.api import Role
from pipeline.codec.bitstream.container import FORMAT_VERSION, Bitstream, BitstreamHeader
from pipeline.codec.video.camera import stream_info
from pipeline.codec.video.settings import quality_of_crf
from pipeline.wire import StreamInfo


@dataclass(frozen=True)
class EncodedFrame:
    """A frame waiting to be sent: everything of the header but ``send_ns``. ``stream``: a
    video codec's packet position (sent as protocol version 2), None for an image codec."""

    seq: int
    capture_ns: int
    quality: int
    height: int
    width: int
    channels: int
    bitstream: bytes
    stream: StreamInfo | None = None


def stream_link(frame: EncodedFrame) -> StreamLink | None:
    """What the send queue needs of a frame: its stream and keyframe flag (None: an image
    codec's frame, which depends on no other)."""
    if frame.stream is None:
        return None
    return StreamLink(frame.stream.id, frame.stream.keyframe)


@dataclass(frozen=True)
class PacketForwarder:
    """Makes a pass-through source's packets frames of a ``codec`` camera: model id
    ``model_id`` (``h264-si2``, ...) and SI-Net weights ``weights_hash`` in each container."""

    codec: str
    model_id: str
    weights_hash: str
    role: Role

    def frame(self, captured: CapturedPacket, seq: int) -> EncodedFrame:
        """The frame ``seq`` that sends ``captured``: its bytes as they are."""
        quality = quality_of_crf(captured.quality)
        header = BitstreamHeader(
            FORMAT_VERSION,
            self.model_id,
            self.weights_hash,
            quality,
            self.role,
            captured.height,
            captured.width,
            captured.channels,
        )
        container = Bitstream(header, (captured.packet.data,)).to_bytes()
        return EncodedFrame(
            seq,
            captured.capture_ns,
            quality,
            captured.height,
            captured.width,
            captured.channels,
            container,
            stream_info(captured.packet, self.codec),
        )
