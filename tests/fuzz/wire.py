"""Fuzz target ``wire``: :func:`pipeline.wire.decode_frame` on hostile multipart messages.

Contract (``docs/protocol.md``): every message either parses into a header and payload that
re-encode to the same message, or raises a :class:`~pipeline.wire.ProtocolError` subclass.
Inputs: well-formed headers of both versions (1, and 2 with its ``stream`` map) with fields,
and fields of the ``stream`` map, replaced by any msgpack value (wrong types, edge integers,
nested maps, extension types), keys removed or added, the version swapped; the packed header
byte-mutated; arbitrary bytes; wrong part counts, empty and oversize payloads, and parts
that are not buffers at all.
"""

from __future__ import annotations

from dataclasses import fields
from functools import cache
from typing import Any

import msgpack
from hypothesis import strategies as st

from pipeline.wire import (
    MAX_HEADER_BYTES,
    MAX_PAYLOAD_BYTES,
    SUPPORTED_VERSIONS,
    FrameHeader,
    ProtocolError,
    StreamInfo,
    decode_frame,
    encode_frame,
)
from tests.fuzz.mutate import mutated
from tests.fuzz.target import Target
from tests.wire.headers import as_map, make_header, make_stream_header

FIELD_NAMES = tuple(f.name for f in fields(FrameHeader))
STREAM_FIELD_NAMES = tuple(f.name for f in fields(StreamInfo))
VALID = make_header(model_id="avif-si1", quality=50, seq=42)
VALID_STREAM = make_stream_header(seq=42)
EDGE_INTS = (-1, 0, 1, 2, 3, 255, 256, 65535, 65536, 2**31, 2**63 - 1, 2**63, 2**64 - 1, -(2**63))


@cache
def _scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.sampled_from(EDGE_INTS),
        st.integers(-(2**63), 2**64 - 1),
        st.floats(),
        st.text(max_size=80),
        st.binary(max_size=80),
        st.sampled_from(("left", "right", "rig0", "dsin-s1", "", "a" * 65, "é")),
        st.builds(msgpack.ExtType, st.integers(0, 127), st.binary(max_size=16)),
        st.builds(msgpack.Timestamp, st.integers(-(2**40), 2**40), st.integers(0, 999_999_999)),
    )


@cache
def msgpack_values() -> st.SearchStrategy[Any]:
    """Any value msgpack packs: scalars, arrays and maps (string or byte keys), nested."""
    return st.recursive(
        _scalars(),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(st.text(max_size=8) | st.binary(max_size=8), inner, max_size=4)
        ),
        max_leaves=12,
    )


def damaged(draw, mapping: dict[Any, Any], names: tuple[str, ...]) -> dict[Any, Any]:
    """``mapping`` with some of ``names`` replaced or removed, and unknown keys added."""
    for name in draw(st.lists(st.sampled_from(names), max_size=4, unique=True)):
        mapping[name] = draw(msgpack_values() | st.sampled_from(SUPPORTED_VERSIONS))
    for name in draw(st.lists(st.sampled_from(names), max_size=2, unique=True)):
        mapping.pop(name, None)
    mapping.update(draw(_extra_keys()))
    return mapping


@st.composite
def header_maps(draw) -> dict[Any, Any]:
    """A valid header of either version with some fields replaced, removed, or joined by
    unknown keys; in a version 2 header, the same done to the ``stream`` map."""
    header: dict[Any, Any] = as_map(draw(st.sampled_from((VALID, VALID_STREAM))))
    if "stream" in header and draw(st.booleans()):
        header["stream"] = damaged(draw, header["stream"], STREAM_FIELD_NAMES)
    return damaged(draw, header, FIELD_NAMES)


#: msgpack type bytes the mutator inserts: extension types (timestamp -1 with wrong sizes),
#: containers that declare far more items than follow, the never-used byte 0xc1.
MSGPACK_TOKENS = (
    b"\xd4\xff\x00",
    b"\xd6\xff",
    b"\xc7\x05\xff",
    b"\xc7\xff\x01",
    b"\xdc\xff\xff",
    b"\xdd\xff\xff\xff\xff",
    b"\xdf\x7f\xff\xff\xff",
    b"\xde\x00\x10",
    b"\x91",
    b"\x81",
    b"\xc1",
    b"\xcf\xff\xff\xff\xff\xff\xff\xff\xff",
    b"\xa7version",
)


@cache
def _extra_keys() -> st.SearchStrategy[dict[Any, Any]]:
    names = st.text(max_size=12) | st.binary(max_size=4)
    return st.dictionaries(names, msgpack_values(), max_size=2)


def pack(value: Any) -> bytes:
    """``value`` as msgpack (binary strings as bin)."""
    return msgpack.packb(value, use_bin_type=True)


def map_parts(maps: st.SearchStrategy[dict[Any, Any]], limit: int) -> st.SearchStrategy[bytes]:
    """A msgpack map part of at most ``limit`` bytes: one of ``maps`` packed, mutated or not,
    any packed value, or noise."""
    packed = maps.map(pack)
    return st.one_of(
        packed,
        mutated(packed, MSGPACK_TOKENS),
        msgpack_values().map(pack),
        st.binary(max_size=limit + 8),
    )


def header_parts() -> st.SearchStrategy[bytes]:
    """The header part: :func:`map_parts` of header maps, or a valid one padded past the limit."""
    padded = pack(as_map(VALID)) + b"\x00" * MAX_HEADER_BYTES
    return st.one_of(map_parts(header_maps(), MAX_HEADER_BYTES), st.just(padded))


@cache
def _oversize_payload() -> memoryview:
    return memoryview(bytes(MAX_PAYLOAD_BYTES + 1))


def payload_parts() -> st.SearchStrategy[Any]:
    """The payload part: bytes-likes of any size, an oversize one, or a non-buffer."""
    return st.one_of(
        st.binary(min_size=1, max_size=64),
        st.binary(max_size=64).map(bytearray),
        st.binary(max_size=64).map(memoryview),
        st.just(b""),
        st.builds(_oversize_payload),
        st.sampled_from((None, 7, "text", 1.5)),
    )


@st.composite
def multipart(draw, first: st.SearchStrategy[Any], second: st.SearchStrategy[Any]) -> list[Any]:
    """One multipart message of a ``first`` and a ``second`` part: usually those two,
    sometimes fewer, or more."""
    parts = [draw(first), draw(second)]
    count = draw(st.sampled_from((2, 2, 2, 2, 0, 1, 3)))
    return [*parts, draw(st.binary(max_size=8))][:count]


def messages() -> st.SearchStrategy[list[Any]]:
    """One frame message: a header and a payload part (:func:`multipart`)."""
    return multipart(header_parts(), payload_parts())


def check(parts: list[Any]) -> None:
    """Parse one message; a parsed one must re-encode and parse to itself."""
    try:
        header, payload = decode_frame(parts)
    except ProtocolError:
        return
    assert isinstance(header, FrameHeader) and isinstance(payload, bytes)
    assert decode_frame(encode_frame(header, payload)) == (header, payload)


TARGET = Target(
    name="wire",
    inputs=messages,
    check=check,
    setup=lambda: check([pack(as_map(VALID_STREAM)), b"x"]),
    memory_mib=1024,
    timeout_s=10.0,
)
