"""Typed errors of the wire protocol: every bad message raises one of these."""


class ProtocolError(ValueError):
    """A ZeroMQ message is not a valid frame message; the receiver counts it and drops it."""


class MalformedMessageError(ProtocolError):
    """Wrong number of parts, a header that is not msgpack, or a field of the wrong type/range."""


class UnsupportedVersionError(ProtocolError):
    """The header carries a protocol version this build does not read."""

    def __init__(self, version: int) -> None:
        super().__init__(f"unsupported protocol version {version!r}")
        self.version = version
