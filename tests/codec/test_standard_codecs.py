"""Standard camera codecs (JPEG, WebP, AVIF) inside our container, decoded with side information."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pipeline.codec import DecodeRequest, Role, read_header
from pipeline.codec.bitstream.container import Bitstream, parse
from pipeline.codec.bitstream.errors import (
    BitstreamError,
    CorruptBitstreamError,
    ImageTooLargeError,
)
from pipeline.codec.encode import StandardEncoder
from pipeline.codec.family import make_encoder
from pipeline.codec.standard import CODEC_NAMES, STANDARD_CODECS
from tests.conftest import natural_image, psnr

CODECS = list(CODEC_NAMES)


@pytest.fixture(scope="module")
def encoders() -> dict[str, StandardEncoder]:
    return {name: StandardEncoder(name) for name in CODECS}


# PSNR (dB) of each codec at quality 60 on natural_image(72, 100, channels, seed=5), measured
# on the project's 2-core x86_64 CPU (OpenCV 4.11, Pillow 13.0), the same over repeated runs.
ROUND_TRIP_PSNR = {
    ("jpeg", 1): 38.859,
    ("jpeg", 3): 31.489,
    ("webp", 1): 39.297,
    ("webp", 3): 32.438,
    ("avif", 1): 41.386,
    ("avif", 3): 34.060,
}


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("channels", [1, 3])
def test_container_round_trip_keeps_channels_and_quality(encoders, decoder, codec, channels):
    image = natural_image(72, 100, channels, seed=5)
    data = encoders[codec].encode(image, Role.SIDE, 60)
    header = read_header(data)
    assert (header.model_id, header.quality, header.channels) == (f"{codec}-si1", 60, channels)
    assert (header.height, header.width, header.role) == (72, 100, Role.SIDE)
    right = decoder.decode_batch([DecodeRequest(None, side=data)]).pairs[0].right
    assert right.shape == image.shape
    expected = STANDARD_CODECS[codec].decode(parse(data).strings[0], channels, (72, 100))
    np.testing.assert_array_equal(right, expected)  # the codec's own decoding, untouched
    assert psnr(image, right) == pytest.approx(ROUND_TRIP_PSNR[codec, channels], abs=0.1)


@pytest.mark.parametrize("codec", CODECS)
def test_corrupt_payload_in_a_valid_container_raises_a_bitstream_error(encoders, decoder, codec):
    data = encoders[codec].encode(natural_image(64, 64, 3, seed=2), Role.PRIMARY, 50)
    bits = parse(data)
    payload = bits.strings[0]
    damaged = [
        payload[: len(payload) // 3],  # truncated file
        b"\0" * len(payload),  # not a file of this format
        payload[:20] + bytes(b ^ 0x5A for b in payload[20:]),  # scrambled after the header
        STANDARD_CODECS["jpeg" if codec != "jpeg" else "webp"].encode(natural_image(64, 64), 50),
    ]
    for bad in damaged:
        container = Bitstream(bits.header, (bad,)).to_bytes()
        with pytest.raises(BitstreamError):
            decoder.decode_batch([DecodeRequest(primary=container)])


def test_a_file_larger_than_its_container_says_is_refused(encoders, decoder):
    data = encoders["jpeg"].encode(natural_image(64, 96, 3, seed=3), Role.PRIMARY, 50)
    bits = parse(data)
    small = Bitstream(dataclasses.replace(bits.header, height=32), bits.strings).to_bytes()
    with pytest.raises(CorruptBitstreamError, match="64x96"):
        decoder.decode_batch([DecodeRequest(primary=small)])
    huge = Bitstream(dataclasses.replace(bits.header, height=60000, width=60000), bits.strings)
    with pytest.raises(ImageTooLargeError):
        decoder.decode_batch([DecodeRequest(primary=huge.to_bytes())])


def test_side_information_improves_a_synthetic_pair_for_every_codec(encoders, decoder):
    scene = natural_image(128, 192 + 8, 3, seed=11)
    left, right = scene[:, 8:], scene[:, :-8]  # left x shows at right x - 8
    # The gain of side information (dB), measured as ROUND_TRIP_PSNR with the installed
    # si-std1 weights and the default self-ensemble, the same with 1 and 2 torch threads.
    gains = {}
    for codec, quality in (("jpeg", 20), ("webp", 15), ("avif", 30)):
        encoder = encoders[codec]
        request = DecodeRequest(
            primary=encoder.encode(left, Role.PRIMARY, quality),
            side=encoder.encode(right, Role.SIDE, quality),
        )
        pair = decoder.decode_batch([request]).pairs[0]
        gains[codec] = psnr(left, pair.left) - psnr(left, pair.left_alone)
    assert gains == {
        "jpeg": pytest.approx(0.323, abs=0.1),
        "webp": pytest.approx(0.133, abs=0.1),
        "avif": pytest.approx(0.134, abs=0.1),
    }


def test_make_encoder_chooses_the_codec_and_refuses_unknown_ones():
    assert make_encoder("avif").model_id == "avif-si1"
    assert make_encoder("dsin").model_id == "dsin-s1"
    with pytest.raises(ValueError, match="unknown codec"):
        make_encoder("png")
    with pytest.raises(ValueError, match="codes webp"):
        StandardEncoder("jpeg", "webp-si1")
    with pytest.raises(ValueError, match="quality 0"):
        StandardEncoder("jpeg").encode(natural_image(16, 16), quality=0)


def test_pairs_of_mixed_codecs_decode_together(encoders, encoder, decoder):
    scene = natural_image(96, 136, 1, seed=4)
    left, right = scene[:, 8:], scene[:, :-8]
    requests = [
        DecodeRequest(encoders["avif"].encode(left, quality=40), encoder.encode(right, Role.SIDE)),
        DecodeRequest(encoder.encode(left), encoders["jpeg"].encode(right, Role.SIDE, 50)),
    ]
    for pair in decoder.decode_batch(requests).pairs:
        assert pair.left.shape == left.shape and pair.right.shape == right.shape
