"""The bitstream container (``docs/bitstream.md``): one coded image, self-describing.

All integers are big-endian. Layout::

    magic "SPIC" | version u8 | total length u32 | role u8 | quality u8 | channels u8
    | height u16 | width u16 | weights hash 8 bytes | model id length u8 | model id (ASCII)
    | string count u8 | string lengths u32 x count | strings | CRC32 u32 of everything before

Checks run in this order, each with its own typed error: magic (corrupt), version
(unsupported), total length (truncated), CRC32 (corrupt), field ranges and string lengths
(corrupt).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

from pipeline.codec.api import Role
from pipeline.codec.bitstream.errors import (
    CorruptBitstreamError,
    TruncatedBitstreamError,
    UnsupportedVersionError,
)

MAGIC = b"SPIC"
FORMAT_VERSION = 1
_PREFIX = struct.Struct(">4sBI")
_FIELDS = struct.Struct(">BBBHH8sB")
_ROLES = (Role.PRIMARY, Role.SIDE)
_MAX_STRINGS = 64


@dataclass(frozen=True)
class BitstreamHeader:
    """What a bitstream says about itself (everything but the entropy-coded strings)."""

    version: int
    model_id: str
    weights_hash: str
    quality: int
    role: Role
    height: int
    width: int
    channels: int


@dataclass(frozen=True)
class Bitstream:
    """A parsed container: its header and its entropy-coded strings (z first, then y groups)."""

    header: BitstreamHeader
    strings: tuple[bytes, ...]

    def to_bytes(self) -> bytes:
        """Serialise, with the total length up front and a trailing CRC32."""
        h = self.header
        model = h.model_id.encode("ascii")
        if len(model) > 255 or len(self.strings) > _MAX_STRINGS:
            raise ValueError("model id longer than 255 bytes or too many strings")
        body = bytearray(
            _FIELDS.pack(
                _ROLES.index(h.role),
                h.quality,
                h.channels,
                h.height,
                h.width,
                bytes.fromhex(h.weights_hash),
                len(model),
            )
        )
        body += model + struct.pack(">B", len(self.strings))
        body += struct.pack(f">{len(self.strings)}I", *(len(s) for s in self.strings))
        for s in self.strings:
            body += s
        total = _PREFIX.size + len(body) + 4
        data = _PREFIX.pack(MAGIC, h.version, total) + body
        return data + struct.pack(">I", zlib.crc32(data))


def container(
    image: np.ndarray,
    model_id: str,
    weights_hash: str,
    quality: int,
    role: Role,
    strings: tuple[bytes, ...],
) -> bytes:
    """The container of one coded ``image`` (its shape and channels in the header)."""
    header = BitstreamHeader(
        FORMAT_VERSION,
        model_id,
        weights_hash,
        quality,
        Role(role),
        *image.shape[:2],
        1 if image.ndim == 2 else 3,
    )
    return Bitstream(header, tuple(strings)).to_bytes()


def parse(data: bytes | memoryview) -> Bitstream:
    """Parse and check a container; raises a typed error naming what is wrong."""
    data = bytes(data)
    version = _check_envelope(data)
    header, offset = _parse_fields(data, version)
    (count,) = struct.unpack_from(">B", _need(data, offset, 1), offset)
    offset += 1
    lengths = struct.unpack_from(f">{count}I", _need(data, offset, 4 * count), offset)
    offset += 4 * count
    if offset + sum(lengths) + 4 != len(data):
        raise CorruptBitstreamError("string lengths do not add up to the container length")
    strings = []
    for length in lengths:
        strings.append(data[offset : offset + length])
        offset += length
    return Bitstream(header, tuple(strings))


def read_header(data: bytes | memoryview) -> BitstreamHeader:
    """The header of a container, after checking the whole container (CRC included)."""
    return parse(data).header


def _check_envelope(data: bytes) -> int:
    """Magic, version, total length and CRC32; returns the version."""
    if len(data) < _PREFIX.size:
        if MAGIC.startswith(data[:4]):
            raise TruncatedBitstreamError(f"bitstream truncated to {len(data)} bytes")
        raise CorruptBitstreamError("not a stereo-pipeline bitstream")
    magic, version, total = _PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise CorruptBitstreamError(f"not a stereo-pipeline bitstream (magic {magic!r})")
    if version != FORMAT_VERSION:
        raise UnsupportedVersionError(
            f"bitstream format version {version}; this build reads version {FORMAT_VERSION}"
        )
    if len(data) < total:
        raise TruncatedBitstreamError(f"bitstream truncated: {len(data)} of {total} bytes")
    if len(data) > total:
        raise CorruptBitstreamError(f"{len(data) - total} unexpected bytes after the bitstream")
    (expected,) = struct.unpack_from(">I", data, total - 4)
    if zlib.crc32(data[:-4]) != expected:
        raise CorruptBitstreamError("CRC32 mismatch: the bitstream is corrupted")
    return version


def _parse_fields(data: bytes, version: int) -> tuple[BitstreamHeader, int]:
    offset = _PREFIX.size
    _need(data, offset, _FIELDS.size)
    role, quality, channels, height, width, digest, id_len = _FIELDS.unpack_from(data, offset)
    offset += _FIELDS.size
    model_id = _need(data, offset, id_len)[offset : offset + id_len].decode("ascii", "replace")
    if role >= len(_ROLES) or channels not in (1, 3) or min(quality, height, width) < 1:
        raise CorruptBitstreamError(
            f"bad header fields: role={role} channels={channels} quality={quality} "
            f"shape={height}x{width}"
        )
    header = BitstreamHeader(
        version, model_id, digest.hex(), quality, _ROLES[role], height, width, channels
    )
    return header, offset + id_len


def _need(data: bytes, offset: int, size: int) -> bytes:
    if offset + size > len(data) - 4:
        raise CorruptBitstreamError("a header field runs past the end of the container")
    return data
