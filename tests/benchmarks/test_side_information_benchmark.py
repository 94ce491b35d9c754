from __future__ import annotations

import numpy as np

from benchmarks.side_information import sgbm_side_information
from tests.codec.test_side_information import _shifted_pair


def test_sgbm_warp_recovers_a_known_shift_and_falls_back_where_it_finds_none():
    left, right = _shifted_pair(96, 320, 12, 31)
    fallback = np.zeros_like(left)
    y_syn, invalid = sgbm_side_information(left, right, fallback)
    # SGBM gives no disparity in its first numDisparities (128) columns: the fallback there.
    assert np.array_equal(y_syn[:, :128], fallback[:, :128])
    assert invalid >= 128 / 320
    # Inside, the right view warped by the found disparity is the left view again.
    inside = np.abs(y_syn[8:-8, 136:-8].astype(int) - left[8:-8, 136:-8].astype(int))
    assert inside.max() <= 1, inside.max()
