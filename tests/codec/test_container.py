"""The bitstream container: every kind of bad input gets its own typed error."""

from __future__ import annotations

import contextlib
import struct

import pytest

from pipeline.codec import DecodeRequest, Role, read_header
from pipeline.codec.container import FORMAT_VERSION, Bitstream, BitstreamHeader, parse
from pipeline.codec.errors import (
    BitstreamError,
    CorruptBitstreamError,
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


def test_garbage_latent_strings_raise_a_bitstream_error_not_a_crash(bitstream, decoder):
    stream = parse(bitstream)
    for strings in ((b"\xff" * 3,) * len(stream.strings), stream.strings[:1]):
        data = Bitstream(stream.header, strings).to_bytes()
        with contextlib.suppress(BitstreamError):
            decoder.decode_batch([DecodeRequest(data)])


def test_errors_are_typed_for_every_single_byte_truncation(bitstream):
    for cut in range(len(bitstream)):
        with pytest.raises(BitstreamError):
            read_header(bitstream[:cut])
