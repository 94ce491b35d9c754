"""The wire protocol between camera nodes and the decoder (``docs/protocol.md``)."""

from pipeline.wire.errors import MalformedMessageError, ProtocolError, UnsupportedVersionError
from pipeline.wire.keyframe_request import (
    MAX_REQUEST_BYTES,
    REQUEST_VERSION,
    KeyframeRequest,
    decode_request,
    encode_request,
    request_topic,
)
from pipeline.wire.protocol import (
    MAX_HEADER_BYTES,
    MAX_PAYLOAD_BYTES,
    PROTOCOL_VERSION,
    SIDES,
    STREAM_CODECS,
    STREAM_PROTOCOL_VERSION,
    SUPPORTED_VERSIONS,
    FrameHeader,
    StreamInfo,
    decode_frame,
    encode_frame,
    version_for,
)

__all__ = [
    "MAX_HEADER_BYTES",
    "MAX_PAYLOAD_BYTES",
    "MAX_REQUEST_BYTES",
    "PROTOCOL_VERSION",
    "REQUEST_VERSION",
    "SIDES",
    "STREAM_CODECS",
    "STREAM_PROTOCOL_VERSION",
    "SUPPORTED_VERSIONS",
    "FrameHeader",
    "KeyframeRequest",
    "MalformedMessageError",
    "ProtocolError",
    "StreamInfo",
    "UnsupportedVersionError",
    "decode_frame",
    "decode_request",
    "encode_frame",
    "encode_request",
    "request_topic",
    "version_for",
]
