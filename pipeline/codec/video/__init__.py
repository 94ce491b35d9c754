"""Video camera codecs (H.264, HEVC, AV1) through FFmpeg (PyAV): no torch.

A camera codes its view as a stream (:class:`VideoEncoder`: one image in, one
:class:`VideoPacket` out, keyframes with their parameter sets every keyframe interval and on
demand); the decoder decodes each stream once, in order, at receive
(:class:`VideoStreamDecoder`), waiting for a keyframe after a gap or a corrupt packet.
``docs/video.md`` says what is built and what is not wired into the nodes yet.
"""

from pipeline.codec.video.decoder import DecodeOutcome, DropReason, VideoStreamDecoder
from pipeline.codec.video.encoder import VideoEncoder, VideoPacket
from pipeline.codec.video.selection import EncoderUnavailableError, select_encoder
from pipeline.codec.video.settings import VIDEO_CODECS, VideoSettings

__all__ = [
    "VIDEO_CODECS",
    "DecodeOutcome",
    "DropReason",
    "EncoderUnavailableError",
    "VideoEncoder",
    "VideoPacket",
    "VideoSettings",
    "VideoStreamDecoder",
    "select_encoder",
]
