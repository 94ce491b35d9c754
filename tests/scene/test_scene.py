"""The synthetic stereo scene: deterministic, natural-looking, and geometrically consistent."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.scene import (
    StereoCamera,
    object_center_px,
    render_disparity,
    render_stereo_frame,
    render_view,
    scene_objects,
)

W, H = 160, 120


def test_deterministic_and_sized() -> None:
    a = render_stereo_frame(5, W, H, seed=3)
    b = render_stereo_frame(5, W, H, seed=3)
    for x, y in zip(a, b, strict=True):
        assert x.shape == (H, W, 3) and x.dtype == np.uint8
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], render_view(5, W, H, 4, "left")), "seed changes the scene"
    assert not np.array_equal(a[0], render_view(6, W, H, 3, "left")), "the scene moves"
    assert not np.array_equal(a[0], a[1]), "the views differ"


def test_looks_like_a_scene_not_noise() -> None:
    left = render_view(0, W, H, 0, "left").astype(np.float32)
    grad = np.abs(np.diff(left, axis=1)).mean()
    noise = np.abs(np.diff(np.random.default_rng(0).uniform(0, 255, left.shape), axis=1)).mean()
    assert grad < 0.1 * noise, "mostly smooth surfaces"
    assert left.std() > 20, "has contrast"
    assert (np.abs(np.diff(left, axis=1)) > 40).mean() > 0.001, "has edges"


def _visible_frame(obj, side_margin: int) -> int:
    for index in range(0, 300, 3):
        (lx, ly), (rx, _) = (object_center_px(obj, index, W, H, s) for s in ("left", "right"))
        if side_margin < rx < lx < W - side_margin and side_margin < ly < H - side_margin:
            return index
    pytest.fail("the object never comes into view")


def test_right_view_is_shifted_by_the_declared_disparity() -> None:
    ball = min(scene_objects(0), key=lambda o: o.depth_m)  # nearest: nothing occludes it
    expected = StereoCamera(W, H).disparity(ball.depth_m)
    assert expected > 3.0
    index = _visible_frame(ball, 12)
    left, right = render_stereo_frame(index, W, H, 0)
    cx, cy = (round(v) for v in object_center_px(ball, index, W, H, "left"))
    patch = left[cy - 4 : cy + 5, cx - 4 : cx + 5].astype(np.float32)
    errors = {
        s: np.abs(right[cy - 4 : cy + 5, cx - 4 - s : cx + 5 - s] - patch).mean()
        for s in range(0, 12)
    }
    best = min(errors, key=errors.get)
    assert abs(best - expected) <= 0.5 + 1e-6, (best, expected, errors)
    assert errors[best] < 0.25 * errors[0]
    assert render_disparity(index, W, H, 0)[cy, cx] == pytest.approx(expected, rel=1e-5)


def test_disparity_map_warps_right_onto_left() -> None:
    left, right = render_stereo_frame(10, W, H, 0)
    disp = render_disparity(10, W, H, 0)
    ys, xs = np.mgrid[0:H, 0:W]
    src = np.round(xs - disp).astype(int)
    ok = (src >= 0) & (disp > 0)
    warped = np.zeros_like(left)
    warped[ok] = right[ys[ok], src[ok]]
    err = np.abs(warped.astype(np.int16) - left.astype(np.int16))[ok].mean()
    shuffled = np.abs(np.roll(right, 7, axis=1).astype(np.int16) - left.astype(np.int16)).mean()
    assert err < 0.5 * shuffled
