"""Round trips through real rANS bitstreams: sizes, channels, quality, batching, threads."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pipeline.codec import DecodeRequest, Role, read_header
from tests.conftest import natural_image, psnr


@pytest.mark.parametrize(
    ("height", "width", "channels", "seed"),
    [(37, 53, 3, 1), (120, 97, 1, 2), (64, 64, 3, 3), (201, 150, 3, 4), (75, 190, 1, 5)],
)
def test_round_trip_any_size_grey_and_colour(encoder, decoder, height, width, channels, seed):
    image = natural_image(height, width, channels, seed)
    data = encoder.encode(image)
    header = read_header(data)
    assert (header.height, header.width, header.channels) == (height, width, channels)
    out = decoder.decode_batch([DecodeRequest(primary=data)]).pairs[0]
    assert out.left.shape == image.shape and out.left.dtype == np.uint8
    assert out.right is None
    bpp = 8 * len(data) / (height * width)
    assert 0.01 < bpp < 4.0
    assert 20.0 < psnr(out.left, image) < 50.0


def test_quality_trades_rate_for_distortion(encoder, decoder):
    image = natural_image(128, 160, 3, 7)
    sizes, scores = [], []
    for quality in (encoder.qualities[0], encoder.qualities[-1]):
        data = encoder.encode(image, quality=quality)
        sizes.append(len(data))
        scores.append(psnr(decoder.decode_batch([DecodeRequest(data)]).pairs[0].left, image))
    assert sizes[0] < sizes[1]
    assert scores[0] < scores[1]


def test_side_view_decodes_alone_with_its_channels(encoder, decoder):
    image = natural_image(96, 128, 1, 8)
    data = encoder.encode(image, role=Role.SIDE)
    assert read_header(data).role == Role.SIDE
    pair = decoder.decode_batch([DecodeRequest(primary=None, side=data)]).pairs[0]
    assert pair.left is None and pair.right.shape == image.shape


def test_batch_decodes_exactly_like_one_at_a_time(encoder, exact_decoder):
    decoder = exact_decoder
    left = [natural_image(96, 128, 3, s) for s in range(3)] + [natural_image(70, 90, 1, 9)]
    right = [natural_image(96, 128, 3, s + 10) for s in range(3)] + [natural_image(70, 90, 1, 19)]
    requests = [
        DecodeRequest(encoder.encode(a), encoder.encode(b, role=Role.SIDE, quality=q + 1))
        for q, (a, b) in enumerate(zip(left, right, strict=True))
    ]
    batch = decoder.decode_batch(requests).pairs
    for request, together in zip(requests, batch, strict=True):
        alone = decoder.decode_batch([request]).pairs[0]
        for name in ("left", "left_alone", "right"):
            np.testing.assert_array_equal(getattr(together, name), getattr(alone, name))


def test_same_bitstream_decodes_identically_with_one_and_two_threads(encoder, exact_decoder):
    decoder = exact_decoder
    data = encoder.encode(natural_image(130, 170, 3, 11))
    side = encoder.encode(natural_image(130, 170, 3, 12), role=Role.SIDE)
    request = DecodeRequest(data, side)
    before = torch.get_num_threads()
    try:
        results = []
        for threads in (1, 2):
            torch.set_num_threads(threads)
            latents = decoder.entropy_decode([request]).items[0]
            pair = decoder.decode_batch([request]).pairs[0]
            results.append((latents, pair))
    finally:
        torch.set_num_threads(before)
    (lat1, pair1), (lat2, pair2) = results
    for a, b in zip(lat1, lat2, strict=True):
        assert torch.equal(a.y_hat, b.y_hat)
    for name in ("left", "left_alone", "right"):
        np.testing.assert_array_equal(getattr(pair1, name), getattr(pair2, name))
