"""The wire protocol between camera nodes and the decoder (``docs/protocol.md``)."""

from pipeline.wire.errors import MalformedMessageError, ProtocolError, UnsupportedVersionError
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
    "PROTOCOL_VERSION",
    "SIDES",
    "STREAM_CODECS",
    "STREAM_PROTOCOL_VERSION",
    "SUPPORTED_VERSIONS",
    "FrameHeader",
    "MalformedMessageError",
    "ProtocolError",
    "StreamInfo",
    "UnsupportedVersionError",
    "decode_frame",
    "encode_frame",
    "version_for",
]
