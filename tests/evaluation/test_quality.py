"""PSNR and MS-SSIM on grey and colour images, including the small-image fallback."""

import math

import numpy as np
import pytest

from pipeline.evaluation.quality import ms_ssim, psnr


def _texture(height, width, channels=None, seed=0):
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width]
    base = 128 + 60 * np.sin(xs / 7.0) * np.cos(ys / 11.0) + rng.normal(0, 10, (height, width))
    image = np.clip(base, 0, 255).astype(np.uint8)
    return image if channels is None else np.dstack([image, image[::-1], image[:, ::-1]])


def test_psnr_of_a_unit_error_is_48_13_db():
    image = _texture(40, 50)
    off_by_one = image.astype(np.int16) + np.where(image < 255, 1, -1)
    assert psnr(image, off_by_one.astype(np.uint8)) == pytest.approx(10 * math.log10(255**2))


def test_psnr_of_identical_images_is_infinite():
    image = _texture(20, 20, channels=3)
    assert psnr(image, image) == math.inf


@pytest.mark.parametrize("shape", [(200, 220), (200, 220, 3), (48, 64), (48, 64, 3)])
def test_ms_ssim_is_one_for_identical_images_and_drops_with_noise(shape):
    image = _texture(*shape[:2], channels=None if len(shape) == 2 else 3)
    rng = np.random.default_rng(2)
    mild = np.clip(image + rng.normal(0, 4, image.shape), 0, 255).astype(np.uint8)
    strong = np.clip(image + rng.normal(0, 25, image.shape), 0, 255).astype(np.uint8)
    assert ms_ssim(image, image) == pytest.approx(1.0, abs=1e-6)
    assert 1.0 > ms_ssim(image, mild) > ms_ssim(image, strong) > 0.0


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="shapes differ"):
        psnr(_texture(20, 20), _texture(20, 20, channels=3))
    with pytest.raises(ValueError, match="shapes differ"):
        ms_ssim(_texture(20, 20), _texture(20, 21))
