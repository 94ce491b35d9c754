"""The bitstream container: every kind of bad input gets its own typed error."""

from __future__ import annotations

import dataclasses
import struct

import pytest

from pipeline.codec import DecodeRequest, Role, read_header
from pipeline.codec.bitstream.container import FORMAT_VERSION, Bitstream, BitstreamHeader, parse
from pipeline.codec.bitstream.errors import (
    BitstreamError,
    CorruptBitstreamError,
    ImageTooLargeError,
    ModelMismatchError,
    TruncatedBitstreamError,
    UnsupportedVersionError,
)
from tests.conftest import natural_image


@pytest.fixture(scope="module")
def bitstream(encoder) -> bytes:
    return encoder.encode(natural_image(70, 90, 3, 21))


def test_container_round_trip():
    header = BitstreamHeader(FORMAT_VERSION, "m-1", "00" * 8, 3, Role.SIDE, 480, 640, 1)
    stream = Bitstream(header, (b"z", b"", b"abc"))
    assert parse(stream.to_bytes()) == stream


@pytest.mark.parametrize("cut", [1, 5, 20, -1, -5])
def test_truncated_bitstream_raises_truncated(bitstream, cut):
    with pytest.raises(TruncatedBitstreamError):
        read_header(bitstream[:cut])


@pytest.mark.parametrize("position", [12, 30, -20, -2])
def test_flipped_byte_raises_corrupt(bitstream, position):
    data = bytearray(bitstream)
    data[position] ^= 0x40
    with pytest.raises(CorruptBitstreamError):
        read_header(bytes(data))


def test_wrong_magic_and_trailing_bytes_raise_corrupt(bitstream):
    with pytest.raises(CorruptBitstreamError, match="magic"):
        read_header(b"JUNK" + bitstream[4:])
    with pytest.raises(CorruptBitstreamError, match="unexpected bytes"):
        read_header(bitstream + b"\0")
    with pytest.raises(TruncatedBitstreamError):
        read_header(b"")


def test_wrong_version_raises_unsupported(bitstream):
    data = bitstream[:4] + struct.pack(">B", FORMAT_VERSION + 1) + bitstream[5:]
    with pytest.raises(UnsupportedVersionError, match="version 2"):
        read_header(data)


def test_wrong_model_raises_model_mismatch(bitstream, decoder):
    stream = parse(bitstream)
    for change in ({"model_id": "other-model"}, {"weights_hash": "ff" * 8}):
        header = BitstreamHeader(**{**stream.header.__dict__, **change})
        data = Bitstream(header, stream.strings).to_bytes()
        with pytest.raises(ModelMismatchError):
            decoder.decode_batch([DecodeRequest(data)])


@pytest.mark.parametrize(
    "damage",
    [
        lambda s: (b"\xff" * 3,) * len(s),  # not whole 32-bit words
        lambda s: s[:1],  # no latent sub-streams
        lambda s: (*s, s[-1]),  # one sub-stream too many
        lambda s: (s[0], b"", *s[2:]),  # an empty sub-stream
        lambda s: (s[0], s[1][:8], *s[2:]),  # a sub-stream shorter than its symbols need
        lambda s: (s[0], s[1] + b"\0" * 4, *s[2:]),  # a sub-stream longer than its symbols
        lambda s: (s[0][:8], *s[1:]),  # a short hyper-latent stream
    ],
)
def test_damaged_latent_strings_raise_corrupt_not_a_crash(bitstream, decoder, damage):
    stream = parse(bitstream)
    data = Bitstream(stream.header, damage(stream.strings)).to_bytes()
    with pytest.raises(CorruptBitstreamError):
        decoder.decode_batch([DecodeRequest(data)])


def test_declared_shape_over_the_limits_raises_before_any_work(bitstream, decoder):
    stream = parse(bitstream)
    header = dataclasses.replace(stream.header, height=65535, width=65535)
    data = Bitstream(header, (b"\0" * 8,) * len(stream.strings)).to_bytes()
    with pytest.raises(ImageTooLargeError, match="exceeds the limit"):
        decoder.decode_batch([DecodeRequest(data)])
    tall = Bitstream(dataclasses.replace(header, height=4096, width=2048), stream.strings)
    with pytest.raises(ImageTooLargeError, match="pixels"):
        decoder.decode_batch([DecodeRequest(tall.to_bytes())])


def test_errors_are_typed_for_every_single_byte_truncation(bitstream):
    for cut in range(len(bitstream)):
        with pytest.raises(BitstreamError):
            read_header(bitstream[:cut])
