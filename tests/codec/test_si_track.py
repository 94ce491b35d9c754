"""SI-Finder warm start: the window search against the full search, and when a track falls back.

The sequences are the rendered demo scene (``pipeline.scene``), which moves from frame to frame:
consecutive frames of one rig, as a decoder gets them.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from pipeline.codec.model.si_finder import SIFinderConfig, find_matches, find_with_confidence
from pipeline.codec.model.si_track import MatchTrack, WarmStart
from pipeline.codec.model.tensors import to_tensor
from pipeline.scene import render_stereo_frame

EXACT = SIFinderConfig(patch=8, band=8)
"""An exhaustive search (no coarse step): its answer is the best of every candidate."""
STANDARD = SIFinderConfig(patch=8, band=8, overlap=True, coarse=True)
"""The standard codecs' settings (patch 16 there), at this test's image size."""


def frames(count: int, seed: int = 3, start: int = 0, size=(64, 96)) -> list[tuple]:
    """Consecutive rendered stereo frames as (left, right) tensors."""
    height, width = size
    return [
        tuple(to_tensor(view) for view in render_stereo_frame(start + i, width, height, seed))
        for i in range(count)
    ]


def covered(full: torch.Tensor, previous: torch.Tensor, radius: tuple) -> torch.Tensor:
    """Blocks (rows, cols) whose full-search answer lies within ``radius`` of ``previous``."""
    return ((full - previous).abs() <= torch.tensor(radius)).all(dim=-1)


@pytest.mark.parametrize("config", [EXACT, replace(EXACT, disparity=(-24, 2))])
def test_window_search_finds_the_full_searchs_answer_wherever_the_window_covers_it(config):
    radius = (3, 3)
    (x0, s0), *rest = frames(6)
    previous = find_matches(x0, s0, config)
    checked = 0
    for x, side in rest:
        full = find_matches(x, side, config)
        warm = find_matches(x, side, config, previous, radius, drop=2.0)
        inside = covered(full.matches[0], previous.matches[0], radius)
        assert torch.equal(warm.matches[0][inside], full.matches[0][inside])
        assert torch.allclose(warm.scores[0][inside], full.scores[0][inside], atol=1e-5)
        checked += int(inside.sum())
        previous = warm
    assert checked > 0.8 * 5 * (64 // 8) * (96 // 8)  # the scene moves little a frame


def test_warm_search_from_the_full_searchs_own_matches_gives_its_result():
    # Each window covers the full answer (with ``coarse``, the half-resolution answer too):
    # Y_syn and the confidence are the full search's, on every grid.
    for config in (EXACT, STANDARD):
        for x, side in frames(2, seed=5):
            full = find_matches(x, side, config)
            warm = find_matches(x, side, config, full, radius=(4, 4))
            assert all(map(torch.equal, warm.matches, full.matches))
            assert torch.equal(warm.y_syn, full.y_syn)
            assert torch.allclose(warm.confidence, full.confidence, atol=1e-5)


def test_window_search_stays_in_the_band():
    x, side = frames(1)[0]
    full = find_matches(x, side, EXACT)
    far = torch.zeros_like(full.matches[0])  # every guess: the top-left corner
    previous = replace(full, searched=((far, full.scores[0]),))
    warm = find_matches(x, side, EXACT, previous, radius=(2, 2), drop=2.0)
    rows = torch.arange(far.shape[0])[:, None] * EXACT.patch
    assert bool((warm.matches[0][..., 0] >= rows - EXACT.band).all())
    with pytest.raises(ValueError, match="4 grids"):
        find_matches(x, side, STANDARD, previous, radius=(2, 2))


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(-10 * torch.log10(((a.clamp(0, 1) - b) ** 2).mean()))


def test_a_track_on_a_moving_sequence_builds_side_information_as_good_as_the_full_search():
    track = MatchTrack(WarmStart(rows=2, columns=4, refresh=30, drop=0.05))
    searches = []
    for x, side in frames(8, seed=7):
        warm = track.find(x, side, STANDARD)
        searches.append(track.last)
        y_full, _ = find_with_confidence(x, side, STANDARD)
        assert psnr(warm.y_syn, x) > psnr(y_full, x) - 0.1
    assert searches[0] == "full" and searches[1:].count("warm") >= 6


def test_a_track_searches_in_full_first_on_a_new_shape_or_config_and_when_due():
    track = MatchTrack(WarmStart(rows=2, columns=2, refresh=3, drop=2.0))
    sequence = frames(4, seed=9)
    small = frames(1, seed=9, size=(48, 64))[0]
    steps = [
        (sequence[0], STANDARD, "full"),
        (sequence[1], STANDARD, "warm"),
        (sequence[2], STANDARD, "warm"),
        (sequence[3], STANDARD, "full"),  # every ``refresh`` pairs
        (small, STANDARD, "full"),  # another size
        (small, STANDARD, "warm"),
        (small, replace(STANDARD, band=4), "full"),  # other settings
    ]
    for (x, side), config, expected in steps:
        track.find(x, side, config)
        assert track.last == expected


def test_blocks_whose_window_missed_are_searched_in_full():
    x0, side0 = frames(1, seed=11)[0]
    x, side = frames(1, seed=11, start=1)[0]
    for config in (EXACT, STANDARD):
        previous = find_matches(x0, side0, config)
        full = find_matches(x, side.flip(-1), config)  # mirrored: the old matches are no use
        warm = find_matches(x, side.flip(-1), config, previous, radius=(4, 4), drop=0.05)
        assert warm.full_blocks > 0.5 * warm.blocks
        missed = [
            s < p - 0.05 for (_, s), (_, p) in zip(warm.searched, previous.searched, strict=True)
        ]
        for m, w, f in zip(missed, warm.matches, full.matches, strict=True):
            assert torch.equal(w[m], f[m])  # a missed block: the full search's answer
        own = find_matches(x, side, config)
        steady = find_matches(x, side, config, own, radius=(4, 4), drop=2.0)
        assert steady.full_blocks < 0.1 * steady.blocks  # few on an edge; drop never


def test_warm_start_settings_are_checked():
    for bad in ({"rows": 0}, {"columns": 0}, {"refresh": 0}, {"drop": -0.1}):
        with pytest.raises(ValueError, match="warm start"):
            WarmStart(**bad)
