"""Entropy decoding on several threads gives the same latents, bit for bit, as on one."""

from __future__ import annotations

import torch

from pipeline.codec import DecodeRequest, Role, StereoDecoder
from pipeline.codec.decode.read import Latents
from tests.conftest import natural_image


def test_parallel_entropy_decoding_gives_bit_identical_latents(encoder):
    requests = [
        DecodeRequest(
            encoder.encode(natural_image(64 + 16 * i, 96, 1 + 2 * (i % 2), i), quality=1 + i),
            encoder.encode(natural_image(64 + 16 * i, 96, 3, 50 + i), Role.SIDE, 11 - i),
        )
        for i in range(6)
    ]
    one = StereoDecoder(device="cpu", entropy_workers=1).entropy_decode(requests)
    many = StereoDecoder(device="cpu", entropy_workers=4).entropy_decode(requests)
    for pair_one, pair_many in zip(one.items, many.items, strict=True):
        for a, b in zip(pair_one, pair_many, strict=True):
            assert isinstance(a, Latents) and a.header == b.header
            assert torch.equal(a.y_hat, b.y_hat)
