"""Stereo pairs rendered from single images: disparity, occlusions, determinism, options."""

import cv2
import numpy as np
import pytest

from pipeline.training.data.rendered_stereo import make_stereo_pair


def _smooth_image(height=120, width=200, seed=0):
    """A smooth colour texture: bilinear resampling errors stay well under one grey level."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    channels = []
    for _ in range(3):
        fx, fy, phase = rng.uniform(0.03, 0.08), rng.uniform(0.03, 0.08), rng.uniform(0, 6)
        channels.append(128 + 100 * np.sin(fx * xs + phase) * np.cos(fy * ys))
    return np.clip(np.dstack(channels), 0, 255).astype(np.uint8)


def _clean_pair(seed, image=None):
    image = _smooth_image() if image is None else image
    rng = np.random.default_rng(seed)
    return make_stereo_pair(image, rng, max_disparity=24, photometric=False, noise=False)


def _warp_right_to_left(pair, sign=-1.0):
    height, width = pair.disparity.shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    map_x = xs + sign * pair.disparity
    return cv2.remap(pair.right, map_x, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _interior(mask):
    return cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_right_at_x_minus_d_shows_left_at_x_where_visible(seed):
    pair = _clean_pair(seed)
    inside = _interior(pair.visible)
    assert inside.mean() > 0.5
    error = np.abs(_warp_right_to_left(pair).astype(float) - pair.left).max(axis=2)
    assert error[inside].mean() < 0.5
    assert np.percentile(error[inside], 99) <= 2.0
    wrong_sign = np.abs(_warp_right_to_left(pair, sign=+1.0).astype(float) - pair.left).max(axis=2)
    assert wrong_sign[inside].mean() > 5 * error[inside].mean() + 2


def test_scene_has_layers_and_occlusions():
    shapes_seen = 0
    for seed in range(6):
        pair = _clean_pair(seed)
        assert pair.left.shape == pair.right.shape == (120, 176, 3)
        assert pair.disparity.dtype == np.float32
        assert pair.disparity.min() >= 0.0 and pair.disparity.max() <= 24.0
        # Left pixels whose match x - d falls outside the right view are never visible.
        columns = np.arange(176)[None, :] - pair.disparity
        assert not pair.visible[columns < 0].any()
        occluded = ~pair.visible & (columns >= 0)
        shapes_seen += occluded.any()
    assert shapes_seen >= 4


def test_left_is_the_cropped_image():
    image = _smooth_image(150, 260)
    pair = make_stereo_pair(image, np.random.default_rng(5), max_disparity=20, crop=(100, 120))
    assert pair.left.shape == (100, 120, 3)
    windows = np.lib.stride_tricks.sliding_window_view(image, (100, 120, 3))
    found = (windows == pair.left).all(axis=(-3, -2, -1))
    assert found.any()


def test_same_seed_same_pair_other_seed_other_pair():
    image = _smooth_image()
    first = make_stereo_pair(image, np.random.default_rng(7), max_disparity=24)
    again = make_stereo_pair(image, np.random.default_rng(7), max_disparity=24)
    other = make_stereo_pair(image, np.random.default_rng(8), max_disparity=24)
    for name in ("left", "right", "disparity", "visible"):
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name))
    assert not np.array_equal(first.right, other.right)


def test_photometric_changes_and_noise_alter_only_the_right_view():
    image = _smooth_image()
    clean = _clean_pair(4, image)
    rng = np.random.default_rng(4)
    real = make_stereo_pair(image, rng, max_disparity=24)
    np.testing.assert_array_equal(real.left, clean.left)
    np.testing.assert_array_equal(real.disparity, clean.disparity)
    difference = np.abs(real.right.astype(float) - clean.right)
    assert 0.5 < difference.mean() < 40


def test_grey_image_gives_grey_views():
    grey = _smooth_image()[:, :, 1]
    pair = make_stereo_pair(grey, np.random.default_rng(0), max_disparity=16)
    assert pair.left.shape == pair.right.shape == (120, 184)


def test_too_small_or_bad_images_are_errors():
    with pytest.raises(ValueError, match="too small"):
        make_stereo_pair(_smooth_image(40, 60), np.random.default_rng(0), crop=(64, 64))
    with pytest.raises(ValueError, match="uint8"):
        make_stereo_pair(np.zeros((64, 128, 4), np.uint8), np.random.default_rng(0))
    with pytest.raises(ValueError, match="max_disparity"):
        make_stereo_pair(_smooth_image(), np.random.default_rng(0), max_disparity=2)
