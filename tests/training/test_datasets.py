"""Training datasets on tiny synthetic PNGs: crops, channels, sizes, determinism, mixing."""

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from pipeline.training.data.datasets import (
    ImageFolderCrops,
    StereoPairFolder,
    SyntheticStereo,
    mix_datasets,
)

SHIFT = 5


def _texture(height, width, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (height, width), dtype=np.uint8)


def _write(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image)


def _stereo_set(root: Path, name: str, left: np.ndarray, right: np.ndarray) -> Path:
    folder = root / name
    _write(folder / "left" / "000000.png", left)
    _write(folder / "right" / "000000.png", right)
    return folder


def _shifted_grey_pair(height=40, width=70):
    """A right view with right[:, x] = left[:, x + SHIFT] (constant disparity SHIFT)."""
    scene = _texture(height, width + SHIFT)
    return scene[:, :width], scene[:, SHIFT:]


def test_grey_pair_same_crop_in_both_views_replicated_to_rgb(tmp_path):
    left, right = _shifted_grey_pair()
    data = StereoPairFolder([_stereo_set(tmp_path, "grey", left, right)], crop=(16, 24))
    torch.manual_seed(0)
    for _ in range(5):
        crop_left, crop_right = data[0]
        assert crop_left.shape == crop_right.shape == (3, 16, 24)
        assert crop_left.dtype == torch.float32 and 0.0 <= crop_left.min() <= crop_left.max() <= 1.0
        assert torch.equal(crop_left[0], crop_left[2])
        # Same window in both views: the right crop is the left crop moved by the disparity.
        assert torch.equal(crop_right[:, :, : 24 - SHIFT], crop_left[:, :, SHIFT:])


def test_grey_kept_as_one_channel_when_asked(tmp_path):
    left, right = _shifted_grey_pair()
    data = StereoPairFolder([_stereo_set(tmp_path, "g", left, right)], (16, 16), grey_to_rgb=False)
    assert data[0][0].shape == (1, 16, 16)


def test_rgba_loses_alpha_and_comes_out_rgb(tmp_path):
    bgra = np.zeros((30, 30, 4), np.uint8)
    bgra[:, :, 2] = 255  # red in OpenCV's BGR order
    bgra[:, :, 3] = 7
    data = StereoPairFolder([_stereo_set(tmp_path, "rgba", bgra, bgra)], crop=(20, 20))
    left, _ = data[0]
    assert left.shape == (3, 20, 20)
    assert torch.all(left[0] == 1.0) and torch.all(left[1:] == 0.0)


def test_views_of_different_widths_are_cropped_within_the_narrower(tmp_path):
    scene = _texture(32, 60)
    data = StereoPairFolder([_stereo_set(tmp_path, "vase", scene, scene[:, :41])], crop=(32, 40))
    torch.manual_seed(1)
    for _ in range(10):
        left, right = data[0]
        assert torch.equal(left, right)


def test_small_images_are_padded_or_skipped(tmp_path):
    small = _stereo_set(tmp_path, "small", _texture(10, 12), _texture(10, 12, 1))
    big = _stereo_set(tmp_path, "big", _texture(30, 30), _texture(30, 30, 1))
    padded = StereoPairFolder([small], crop=(16, 20))
    left, _ = padded[0]
    assert left.shape == (3, 16, 20)
    assert torch.equal(
        left[:, :10, :12], torch.from_numpy(_texture(10, 12)).float().div(255).expand(3, -1, -1)
    )
    skipping = StereoPairFolder([small, big], crop=(16, 20), small="skip")
    assert len(skipping) == 1 and skipping.pairs[0][0].parent.parent.name == "big"
    with pytest.raises(ValueError, match="no pair"):
        StereoPairFolder([small], crop=(16, 20), small="skip")


def test_missing_pairs_are_an_error(tmp_path):
    _write(tmp_path / "lonely" / "left" / "000000.png", _texture(8, 8))
    with pytest.raises(FileNotFoundError, match="matching right"):
        StereoPairFolder([tmp_path / "lonely"])


def test_image_folder_crops(tmp_path):
    colour = np.dstack([_texture(40, 50, s) for s in range(3)])
    _write(tmp_path / "nat" / "a.png", colour)
    _write(tmp_path / "nat" / "b.jpg", _texture(20, 20))
    (tmp_path / "nat" / "MANIFEST.txt").write_text("not an image")
    data = ImageFolderCrops([tmp_path / "nat"], crop=(24, 24))
    assert len(data) == 2
    for index in range(2):
        assert data[index].shape == (3, 24, 24)
    assert len(ImageFolderCrops([tmp_path / "nat"], crop=(24, 24), small="skip")) == 1


def test_synthetic_stereo_is_reproducible_per_seed_and_epoch(tmp_path):
    _write(tmp_path / "nat" / "a.png", np.dstack([_texture(64, 96, s) for s in range(3)]))
    _write(tmp_path / "nat" / "grey.png", _texture(20, 20))
    data = SyntheticStereo([tmp_path / "nat"], crop=(32, 40), rng_seed=3, max_disparity=16)
    first_left, first_right = data[0]
    assert first_left.shape == first_right.shape == (3, 32, 40)
    again_left, again_right = data[0]
    assert torch.equal(first_left, again_left) and torch.equal(first_right, again_right)
    data.set_epoch(1)
    assert not torch.equal(data[0][1], first_right)
    grey_left, grey_right = data[1]
    assert torch.equal(grey_right[0], grey_right[1]) and torch.equal(grey_left[0], grey_left[2])


def test_mix_datasets_draws_each_dataset_with_its_share(tmp_path):
    left, right = _shifted_grey_pair()
    real = StereoPairFolder([_stereo_set(tmp_path, "r", left, right)], crop=(16, 16))
    for name in "abc":
        _write(tmp_path / "nat" / f"{name}.png", _texture(40, 60))
    synthetic = SyntheticStereo([tmp_path / "nat"], crop=(16, 16), rng_seed=0, max_disparity=8)
    data, sampler = mix_datasets(
        [real, synthetic], [0.25, 0.75], 4000, torch.Generator().manual_seed(0)
    )
    indices = torch.tensor(list(sampler))
    assert len(data) == 4
    assert (indices == 0).float().mean().item() == pytest.approx(0.25, abs=0.03)
    assert data[3][0].shape == (3, 16, 16)
    with pytest.raises(ValueError, match="one weight per dataset"):
        mix_datasets([real], [0.5, 0.5], 10)
