"""The side-information path and the encoders' bytes match what 449ca8a recorded.

Independent of this implementation's structure: each pin is a hash of bytes or pixels and a
PSNR against the rendered source (within 0.1 dB), for the learned codec (``dsin-s1``) and a
standard codec with its SI-Net (``jpeg`` / ``si-std1``); ``tests/golden/pins.py`` says how
they were made. A change here is a change of behaviour: record again only on purpose.
"""

from __future__ import annotations

import json

import pytest

from tests.golden.pins import CODECS, PINS, bitstream_path, encode, measure, sha256, source

PSNR_TOLERANCE_DB = 0.1
PINNED = json.loads(PINS.read_text())


@pytest.fixture(scope="module")
def si_decoder(exact_decoder):
    """The pins' decoder: CPU, deterministic float32, one SI-Net pass (the CPU default)."""
    assert exact_decoder.self_ensemble == 1
    return exact_decoder


@pytest.mark.parametrize("codec", CODECS)
def test_encoder_bytes_are_pinned_and_decode_to_pinned_quality(codec, si_decoder):
    pins = PINNED[codec]
    left, right = encode(codec)
    got = measure(left, right, si_decoder)
    assert got["alone_psnr"] == pytest.approx(pins["alone_psnr"], abs=PSNR_TOLERANCE_DB)
    assert got["right_psnr"] == pytest.approx(pins["right_psnr"], abs=PSNR_TOLERANCE_DB)
    assert (sha256(left), sha256(right)) == (
        pins["left_bytes_sha256"],
        pins["right_bytes_sha256"],
    ), f"{codec} encoder writes other bytes than 449ca8a on this CPU"


@pytest.mark.parametrize("codec", CODECS)
def test_recorded_pair_decodes_through_side_information_as_pinned(codec, si_decoder):
    pins = PINNED[codec]
    left = bitstream_path(codec, "left").read_bytes()
    right = bitstream_path(codec, "right").read_bytes()
    assert (sha256(left), sha256(right)) == (pins["left_bytes_sha256"], pins["right_bytes_sha256"])
    got = measure(left, right, si_decoder)
    for key in ("fused_psnr", "alone_psnr", "right_psnr"):
        assert got[key] == pytest.approx(pins[key], abs=PSNR_TOLERANCE_DB), key
    assert got["fused_psnr"] > got["alone_psnr"], "side information no longer helps"
    assert got["alone_sha256"] == pins["alone_sha256"]
    assert got["fused_sha256"] == pins["fused_sha256"], f"{codec} side-information path changed"


def test_source_is_a_stereo_pair():
    left, right = source()
    assert left.shape == right.shape == (96, 192, 3)
    assert (left != right).any()
