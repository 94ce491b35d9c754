"""The training feed: stereo batches for the joint loss, independent crops for the codec alone."""

from itertools import islice
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.training.data.feed import REAL_SHARE, make_batches


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


def _colour_folder(root: Path) -> list[str]:
    # Pure red: its luma (0.299 x 255 = 76) is far from each of its channels.
    root.mkdir(parents=True)
    for i in range(3):
        image = np.zeros((40, 48, 3), np.uint8)
        image[..., 2] = 255  # BGR on disk
        assert cv2.imwrite(str(root / f"{i}.png"), image)
    return [str(root)]


def _is_grey(item) -> bool:
    return bool((item[0] == item[1]).all() and (item[1] == item[2]).all())


@pytest.mark.parametrize("pairs_needed", [True, False])
def test_grey_share_turns_that_share_of_items_into_their_luma(tmp_path, pairs_needed):
    images = _colour_folder(tmp_path / "nat")
    feed = make_batches([], images, 32, 8, pairs_needed=pairs_needed, grey_share=0.5)
    grey = total = 0
    for left, right in islice(feed, 30):
        for item in [*left, *right]:
            total += 1
            if _is_grey(item):
                grey += 1
                if not pairs_needed:  # synthetic pairs change the brightness of each view
                    assert float(item[0].mean()) == pytest.approx(0.299, abs=0.005)  # luma
        if pairs_needed:  # both views of a pair alike
            assert [_is_grey(v) for v in left] == [_is_grey(v) for v in right]
    assert grey / total == pytest.approx(0.5, abs=0.1)


def test_grey_share_zero_keeps_colour_and_out_of_range_is_an_error(tmp_path):
    images = _colour_folder(tmp_path / "nat")
    left, right = next(make_batches([], images, 32, 4, pairs_needed=False))
    assert not any(_is_grey(item) for item in [*left, *right])
    with pytest.raises(ValueError, match="grey_share"):
        next(make_batches([], images, 32, 4, grey_share=1.5))
