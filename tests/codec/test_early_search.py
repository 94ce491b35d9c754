"""A CPU decoder's early SI-Finder search: pairs whose views are pixels are searched at stage 1
(beside the previous batch's SI-Net in a daemon), with the same result as the search at stage 3;
a learned view waits for its synthesis; the block grids searched on threads find what one
thread finds."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from pipeline.codec import DecodeRequest, Role
from pipeline.codec.family import make_encoder
from pipeline.codec.model.si_finder import SIFinderConfig, find_matches
from pipeline.codec.model.tensors import to_tensor
from pipeline.scene import render_stereo_frame


def _jpeg_pair(seed: int = 5) -> tuple[bytes, bytes]:
    left, right = render_stereo_frame(0, 96, 64, seed)
    encoder = make_encoder("jpeg")
    return encoder.encode(left, Role.PRIMARY, 60), encoder.encode(right, Role.SIDE, 60)


def test_a_pixel_pair_is_searched_at_stage_1_as_stage_3_would(decoder):
    decoded = decoder.entropy_decode([DecodeRequest(*_jpeg_pair())])
    assert decoded.early is not None and decoded.early.found[0] is not None
    assert decoded.early.searches == ["full"] and decoded.early.seconds > 0
    early = decoder.reconstruct(decoded).pairs[0]
    late = decoder.reconstruct(dataclasses.replace(decoded, early=None)).pairs[0]
    assert early.search == late.search == "full"
    # the search ran on other torch threads there: float rounding at most
    assert np.abs(early.left.astype(int) - late.left.astype(int)).max() <= 1


def test_a_learned_view_is_searched_after_its_synthesis(decoder, encoder):
    left, right = render_stereo_frame(0, 64, 64, 6)
    request = DecodeRequest(encoder.encode(left), encoder.encode(right, role=Role.SIDE))
    decoded = decoder.entropy_decode([request])
    assert decoded.early.found == [None]
    assert decoder.reconstruct(decoded).pairs[0].search == "full"


def test_block_grids_searched_on_threads_find_the_same_matches():
    left, right = render_stereo_frame(3, 96, 80, 7)
    x, side = to_tensor(left), to_tensor(right)
    config = SIFinderConfig(patch=16, band=16, overlap=True, coarse=True)
    alone = find_matches(x, side, config)
    with ThreadPoolExecutor(2) as pool:
        threaded = find_matches(x, side, config, executor=pool)
        warm = find_matches(x, side, config, previous=alone, executor=pool)
    assert torch.equal(alone.y_syn, threaded.y_syn)
    assert all(torch.equal(a, b) for a, b in zip(alone.matches, threaded.matches, strict=True))
    assert len(warm.matches) == 4 and warm.y_syn.shape == x.shape
