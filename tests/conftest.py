"""Shared test fixtures: small synthetic images made here, never read from disk."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.evaluation.quality import psnr  # noqa: F401  (re-exported for the tests)


def natural_image(height: int, width: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    """A smooth, textured, edged uint8 image that codecs treat like a photo, not like noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    out = np.zeros((height, width, 3), np.float32)
    for _ in range(6):
        freq = rng.uniform(0.01, 0.08, size=2)
        phase = rng.uniform(0, 2 * np.pi)
        colour = rng.uniform(0.2, 1.0, size=3)
        out += np.sin(freq[0] * yy + freq[1] * xx + phase)[..., None] * colour * 30
    for _ in range(8):
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        r = rng.uniform(5, max(6, min(height, width) / 3))
        inside = (yy - cy) ** 2 + (xx - cx) ** 2 < r**2
        out[inside] += rng.uniform(-60, 60, size=3)
    out += 128 + rng.normal(0, 2, size=out.shape)
    image = np.clip(out, 0, 255).astype(np.uint8)
    return image.mean(axis=2).astype(np.uint8) if channels == 1 else image


@pytest.fixture(scope="session")
def encoder():
    """The default model's encoder (loaded once)."""
    from pipeline.codec import ImageEncoder

    return ImageEncoder()


@pytest.fixture(scope="session")
def decoder():
    """The default model's decoder on the CPU (loaded once)."""
    from pipeline.codec import StereoDecoder

    return StereoDecoder(device="cpu")


@pytest.fixture(scope="session")
def exact_decoder():
    """A CPU decoder in deterministic mode: bit-identical for any thread count or batch."""
    from pipeline.codec import StereoDecoder

    return StereoDecoder(device="cpu", deterministic=True)
