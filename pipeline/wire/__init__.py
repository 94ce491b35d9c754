"""The wire protocol between camera nodes and the decoder (``docs/protocol.md``)."""

from pipeline.wire.errors import MalformedMessageError, ProtocolError, UnsupportedVersionError
from pipeline.wire.protocol import (
    MAX_HEADER_BYTES,
    MAX_PAYLOAD_BYTES,
    PROTOCOL_VERSION,
    SIDES,
    FrameHeader,
    decode_frame,
    encode_frame,
)

__all__ = [
    "MAX_HEADER_BYTES",
    "MAX_PAYLOAD_BYTES",
    "PROTOCOL_VERSION",
    "SIDES",
    "FrameHeader",
    "MalformedMessageError",
    "ProtocolError",
    "UnsupportedVersionError",
    "decode_frame",
    "encode_frame",
]
