"""Fuzz target ``container``: :func:`pipeline.codec.bitstream.container.parse` and ``read_header``.

Contract (``docs/bitstream.md``): every input parses, and the parsed container serialises back
to the same bytes, or raises a :class:`~pipeline.codec.bitstream.errors.BitstreamError` subclass.
Inputs, from real containers of every codec (:mod:`tests.fuzz.corpus`): byte mutations (most
stop at the CRC); byte mutations with the total length and CRC32 fixed up, so they reach the
field and string-length checks; header fields patched in place (role, quality, channels,
shape, model id length, string count and lengths) with the CRC fixed; containers rebuilt by
:meth:`Bitstream.to_bytes` with changed header fields and swapped, emptied, mutated, dropped
or added strings; synthetic containers with random fields; and noise.
"""

from __future__ import annotations

import dataclasses
import struct
import zlib
from functools import cache

from hypothesis import strategies as st

from pipeline.codec import Role
from pipeline.codec.bitstream.container import MAGIC, Bitstream, BitstreamHeader, parse, read_header
from pipeline.codec.bitstream.errors import BitstreamError
from tests.fuzz import corpus
from tests.fuzz.mutate import mutated
from tests.fuzz.target import Target

#: Fixed header fields: name -> (offset, struct format), as laid out in docs/bitstream.md.
FIELDS = {
    "version": (4, ">B"), "total": (5, ">I"), "role": (9, ">B"), "quality": (10, ">B"),
    "channels": (11, ">B"), "height": (12, ">H"), "width": (14, ">H"), "id_length": (24, ">B"),
}  # fmt: skip
EDGE_VALUES = (0, 1, 2, 3, 4, 11, 12, 15, 16, 17, 63, 64, 65, 100, 101, 255, 256, 4096, 65535)
MODEL_IDS = ("dsin-s1", "jpeg-si1", "webp-si1", "avif-si1", "", "dsin-s2", "x" * 255)
TOKENS = (MAGIC, b"\x01", b"\x00" * 4, b"\xff" * 4)


def fix_envelope(data: bytes) -> bytes:
    """``data`` with its total length and CRC32 made right, so the parser reads further."""
    if len(data) < 13:
        return data
    body = bytearray(data)
    body[5:9] = struct.pack(">I", len(body))
    body[-4:] = struct.pack(">I", zlib.crc32(bytes(body[:-4])))
    return bytes(body)


@st.composite
def patched(draw, seeds: st.SearchStrategy[bytes]) -> bytes:
    """A container with 1-3 header fields, the string count or a string length set to another
    value, its envelope fixed."""
    data = bytearray(draw(seeds))
    for _ in range(draw(st.integers(1, 3))):
        id_length = data[24] if len(data) > 24 else 0
        count_at = 25 + id_length
        targets = [*FIELDS.values(), (count_at, ">B")]
        count = data[count_at] if len(data) > count_at else 0
        targets += [(count_at + 1 + 4 * i, ">I") for i in range(count)]
        offset, fmt = draw(st.sampled_from(targets))
        bits = 8 * struct.calcsize(fmt)
        value = draw(st.sampled_from(EDGE_VALUES) | st.integers(0, (1 << bits) - 1))
        if offset + struct.calcsize(fmt) <= len(data):
            struct.pack_into(fmt, data, offset, value & ((1 << bits) - 1))
    return fix_envelope(bytes(data))


def _header_value(draw, name: str, header: BitstreamHeader) -> object:
    if name == "role":
        return draw(st.sampled_from(tuple(Role)))
    if name == "model_id":
        return draw(st.sampled_from(MODEL_IDS) | st.text("abcdefghijklmnopqrstuvwxyz0123456789-"))
    if name == "weights_hash":
        hashes = {parse(s).header.weights_hash for s in corpus.seed_bytes()}
        random = st.binary(min_size=8, max_size=8).map(bytes.hex)
        return draw(st.sampled_from(sorted(hashes)) | random)
    maximum = 65535 if name in ("height", "width") else 255
    old = getattr(header, name)
    near = st.integers(max(0, old - 8), min(maximum, old + 8))
    return draw(st.sampled_from(EDGE_VALUES).filter(lambda v: v <= maximum) | near)


def _mutate_strings(draw, strings: list[bytes], others: tuple[Bitstream, ...]) -> None:
    op = draw(st.sampled_from(("mutate", "swap", "empty", "drop", "add", "duplicate")))
    index = draw(st.integers(0, max(0, len(strings) - 1)))
    if op == "add" or not strings:
        donor = draw(st.sampled_from(others)).strings
        strings.insert(index, draw(st.sampled_from(donor) | st.binary(max_size=64)))
    elif op == "mutate":
        strings[index] = draw(mutated(st.just(strings[index])))
    elif op == "swap":
        strings[index] = draw(st.sampled_from([s for o in others for s in o.strings]))
    elif op == "empty":
        strings[index] = b""
    elif op == "drop":
        del strings[index]
    else:
        strings.insert(index, strings[index])
    del strings[64:]


CHANGES = (*(f.name for f in dataclasses.fields(BitstreamHeader)), "retarget", "strings")


@st.composite
def rebuilt(draw, seeds: st.SearchStrategy[bytes], changes: tuple[str, ...] = CHANGES) -> bytes:
    """A real container re-serialised (valid CRC) after 1-3 ``changes``: header fields (shape,
    quality, channels, role, version, model id, weights hash), ``retarget`` (the model id and
    hash of another codec), or ``strings`` (swapped, emptied, mutated, dropped or added)."""
    others = _parsed_corpus()
    bitstream = parse(draw(seeds))
    header, strings = bitstream.header, list(bitstream.strings)
    for name in draw(st.lists(st.sampled_from(changes), min_size=1, max_size=3)):
        if name == "strings":
            _mutate_strings(draw, strings, others)
        elif name == "retarget":
            donor = draw(st.sampled_from(others)).header
            header = dataclasses.replace(
                header, model_id=donor.model_id, weights_hash=donor.weights_hash
            )
        else:
            header = dataclasses.replace(header, **{name: _header_value(draw, name, header)})
    return Bitstream(header, tuple(strings)).to_bytes()


@st.composite
def synthetic(draw) -> bytes:
    """A container with random (struct-representable) fields and strings, valid CRC."""
    header = BitstreamHeader(
        version=draw(st.sampled_from((1, 1, 1, 0, 2, 255))),
        model_id=draw(st.sampled_from(MODEL_IDS) | st.text("abc-1", max_size=20)),
        weights_hash=draw(st.binary(min_size=8, max_size=8)).hex(),
        quality=draw(st.integers(0, 255)),
        role=draw(st.sampled_from(tuple(Role))),
        height=draw(st.sampled_from(EDGE_VALUES)),
        width=draw(st.sampled_from(EDGE_VALUES)),
        channels=draw(st.sampled_from((1, 3, 0, 2, 4, 255))),
    )
    strings = draw(st.lists(st.binary(max_size=48), max_size=6))
    return Bitstream(header, tuple(strings)).to_bytes()


@cache
def _parsed_corpus() -> tuple[Bitstream, ...]:
    return tuple(parse(s) for s in corpus.seed_bytes())


def containers(seeds: st.SearchStrategy[bytes] | None = None) -> st.SearchStrategy[bytes]:
    """Every kind of input above, mutated from ``seeds`` (default: the whole corpus)."""
    seeds = seeds or st.sampled_from(corpus.seed_bytes())
    return st.one_of(
        seeds,
        mutated(seeds, TOKENS),
        mutated(seeds, TOKENS).map(fix_envelope),
        patched(seeds),
        rebuilt(seeds),
        synthetic(),
        st.binary(max_size=64),
        st.binary(max_size=64).map(lambda b: MAGIC + b"\x01" + b).map(fix_envelope),
    )


def check(data: bytes) -> None:
    """Parse one input; a parsed container must serialise back to the same bytes."""
    try:
        bitstream = parse(data)
    except BitstreamError:
        return
    assert read_header(data) == bitstream.header
    if bitstream.header.model_id.isascii():
        assert bitstream.to_bytes() == data


TARGET = Target(
    name="container",
    inputs=containers,
    check=check,
    setup=lambda: [check(s) for s in corpus.seed_bytes()] and None,
    memory_mib=1024,
    timeout_s=10.0,
)
