"""The SI-Finder's vectorised search against its definition, computed the slow, obvious way.

The definition (Ayzik & Avidan, §3.2, with our epipolar band and disparity window): for every
``p x p`` block of X_dec, every allowed position of the side view scores its Pearson
correlation (float64, every window computed directly) times the Gaussian centred on the block's
own position; the best-scoring position is copied. Where no window is flat, the fast
implementation must pick exactly the same positions.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pipeline.codec.model.si_finder import SIFinderConfig, luma
from pipeline.codec.model.si_search import best_positions, coarse_to_fine, normalised_blocks
from tests.conftest import natural_image


def _reference(x: np.ndarray, side: np.ndarray, config: SIFinderConfig) -> np.ndarray:
    """Best (y, x) of every block by brute force: (rows, cols, 2)."""
    p = config.patch
    rows, cols = x.shape[0] // p, x.shape[1] // p
    max_y, max_x = side.shape[0] - p, side.shape[1] - p
    sigma_y, sigma_x = config.sigma_scale * x.shape[0], config.sigma_scale * x.shape[1]
    best = np.zeros((rows, cols, 2), int)
    for r in range(rows):
        top = r * p
        lo, hi = 0, max_y
        if config.band is not None:
            lo, hi = max(0, min(top, max_y) - config.band), min(max_y, top + config.band)
        for c in range(cols):
            block = x[top : top + p, c * p : c * p + p].astype(np.float64)
            block = block - block.mean()
            block /= np.linalg.norm(block)
            scores = {}
            for y in range(lo, hi + 1):
                for xx in range(0, max_x + 1):
                    offset = xx - c * p
                    if (
                        config.disparity
                        and not config.disparity[0] <= offset <= config.disparity[1]
                    ):
                        continue
                    window = side[y : y + p, xx : xx + p].astype(np.float64)
                    window = window - window.mean()
                    pearson = float((block * window).sum() / np.linalg.norm(window))
                    prior = math.exp(-((y - top) ** 2) / (2 * sigma_y**2))
                    prior *= math.exp(-(offset**2) / (2 * sigma_x**2))
                    scores[(y, xx)] = pearson * prior
            best[r, c] = max(scores, key=scores.get)
    return best


@pytest.mark.parametrize(
    "config",
    [
        SIFinderConfig(patch=8, band=None),
        SIFinderConfig(patch=8, band=3),
        SIFinderConfig(patch=8, band=3, disparity=(-12, 2)),
    ],
)
def test_vectorised_search_picks_the_definitions_positions(config):
    left = natural_image(32, 48, 1, seed=8).astype(np.float32) / 255
    right = natural_image(40, 56, 1, seed=9).astype(np.float32) / 255
    left[:, 8:] = right[:32, 2:42]  # a shifted copy: real matches, and near-misses elsewhere
    blocks = normalised_blocks(luma(torch.from_numpy(left)[None].expand(3, -1, -1)), 8)
    side = luma(torch.from_numpy(right)[None].expand(3, -1, -1))[0]
    best, _ = best_positions(blocks, side, config, left.shape)
    expected = _reference(luma(torch.from_numpy(left)[None].expand(3, -1, -1))[0].numpy(),
                          side.numpy(), config)  # fmt: skip
    np.testing.assert_array_equal(best.numpy(), expected)


@pytest.mark.parametrize("shift", [12, 13])
def test_coarse_search_lands_on_or_next_to_the_full_searchs_match(shift):
    scene = natural_image(96, 160 + shift, 3, seed=31)
    # the left view's pixel x shows in the right view at x - shift
    x = torch.from_numpy(scene[:, :160]).permute(2, 0, 1).float() / 255
    y = torch.from_numpy(scene[:, shift:]).permute(2, 0, 1).float() / 255
    blocks = normalised_blocks(luma(x), 16)
    for band in (None, 4):
        config = SIFinderConfig(patch=16, band=band, coarse=True)
        best, score, *_ = coarse_to_fine(blocks, luma(x), luma(y)[0], config, (96, 160))
        exact, _ = best_positions(blocks, luma(y)[0], config, (96, 160))
        # blocks whose content the right view has (all but the first column): the coarse
        # search is an approximation, but a close one on a smooth scene
        distance = (best[:, 1:] - exact[:, 1:]).abs().amax(dim=-1)
        assert float((distance <= 1).float().mean()) >= 0.85, distance
        assert float(score[:, 1:].mean()) > 0.98
