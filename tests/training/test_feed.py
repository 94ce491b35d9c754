"""The training feed: stereo batches for the joint loss, independent crops for the codec alone."""

from itertools import islice
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.training.feed import REAL_SHARE, make_batches


def _flat(path: Path, value: int, shape=(40, 48)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full(shape, value, np.uint8))


def _folders(root: Path) -> tuple[list[str], list[str]]:
    # Each source has its own grey level, so every crop tells where it came from.
    _flat(root / "pair" / "left" / "000000.png", 10)
    _flat(root / "pair" / "right" / "000000.png", 20)
    for i in range(3):
        _flat(root / "nat" / f"{i}.png", 200)
    return [str(root / "pair")], [str(root / "nat")]


def _sources(batch) -> list[int]:
    return [round(float(item.mean()) * 255) for item in batch]


def test_codec_only_feed_draws_independent_crops_of_views_and_images(tmp_path):
    pairs, images = _folders(tmp_path)
    seen = []
    for left, right in islice(make_batches(pairs, images, 32, 8, pairs_needed=False), 40):
        assert left.shape == right.shape == (8, 3, 32, 32)
        seen += _sources(left) + _sources(right)
    assert set(seen) == {10, 20, 200}  # both views of the pair and the natural images
    real = sum(v in (10, 20) for v in seen) / len(seen)
    assert real == pytest.approx(REAL_SHARE, abs=0.05)


def test_stereo_feed_keeps_left_and_right_of_one_pair_together(tmp_path):
    pairs, _ = _folders(tmp_path)
    left, right = next(make_batches(pairs, [], 32, 4))
    assert _sources(left) == [10] * 4 and _sources(right) == [20] * 4


def test_a_feed_needs_folders():
    with pytest.raises(ValueError, match="--pairs and/or --images"):
        next(make_batches([], [], 32, 4))
