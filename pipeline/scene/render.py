"""Rendering one view of the scene: sky, hills, ground and objects, painted far to near.

Every layer is a continuous procedural texture in world coordinates, rendered from each eye's
position, so the right view is the left one shifted by the exact (sub-pixel) disparity of each
layer; nearer layers are painted over farther ones (occlusion by depth).
"""

from __future__ import annotations

import numpy as np

from pipeline.scene.geometry import (
    CAMERA_HEIGHT_M,
    NOMINAL_FPS,
    SceneObject,
    StereoCamera,
    scene_objects,
)
from pipeline.scene.shapes import DIRT, GRASS, OBJECT_KINDS
from pipeline.scene.texture import fbm, mix

GROUND_MAX_Z = 300.0
HILL_DEPTHS = (600.0, 160.0)
SIDES = ("left", "right")

_SKY = np.array([[0.50, 0.66, 0.86], [0.36, 0.55, 0.82], [0.22, 0.40, 0.72]], np.float32)
_HAZE = np.array([0.72, 0.78, 0.85], np.float32)
_HILLS = (
    np.array([[0.42, 0.50, 0.60], [0.55, 0.62, 0.70]], np.float32),
    np.array([[0.17, 0.30, 0.17], [0.30, 0.42, 0.22], [0.42, 0.48, 0.30]], np.float32),
)


def render_view(index: int, width: int, height: int, seed: int, side: str) -> np.ndarray:
    """One view (``"left"`` or ``"right"``) of frame ``index``: uint8 RGB ``(height, width, 3)``."""
    return _render(index, width, height, seed, side)[0]


def render_stereo_frame(
    index: int, width: int, height: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Both views of frame ``index``: ``(left_rgb, right_rgb)``, uint8 ``(height, width, 3)``."""
    return render_view(index, width, height, seed, "left"), render_view(
        index, width, height, seed, "right"
    )


def render_disparity(index: int, width: int, height: int, seed: int) -> np.ndarray:
    """Ground-truth disparity of the left view in pixels, float32 ``(height, width)`` (0 = sky)."""
    return _render(index, width, height, seed, "left")[1]


def _render(index: int, width: int, height: int, seed: int, side: str) -> tuple[np.ndarray, ...]:
    if side not in SIDES:
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    if width < 2 or height < 2:
        raise ValueError(f"image size must be at least 2x2, got {width}x{height}")
    cam, t = StereoCamera(width, height), index / NOMINAL_FPS
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    canvas = np.zeros((height, width, 3), np.float32)
    disp = np.zeros((height, width), np.float32)
    ground_row = int(cam.horizon + cam.focal_px * CAMERA_HEIGHT_M / GROUND_MAX_Z)
    sky_end = min(max(ground_row + 2, 0), height)
    canvas[:sky_end] = _sky(cam, xs[:sky_end], ys[:sky_end], seed, t)
    for layer, depth in enumerate(HILL_DEPTHS):
        ridge_y = _ridge_y(cam, xs[0], seed, side, layer, depth)
        r0 = min(max(int(ridge_y.min()), 0), sky_end)
        band = slice(r0, sky_end)
        hills = _hills(cam, xs[band], ys[band], ridge_y, seed, side, layer, depth)
        _paint(canvas[band], disp[band], *hills)
    objects = scene_objects(seed)
    band = slice(min(max(ground_row - 1, 0), height), height)
    _paint(canvas[band], disp[band], *_ground(cam, xs[band], ys[band], seed, side, objects, t))
    for obj in objects:
        _paint_object(canvas, disp, cam, xs, ys, obj, side, t)
    rgb = np.clip(canvas * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return rgb, disp


def _paint(canvas: np.ndarray, disp: np.ndarray, alpha: np.ndarray, rgb: np.ndarray, d) -> None:
    """Paint a layer over the canvas (painter's algorithm: layers come far to near)."""
    a = alpha[..., None]
    canvas *= 1.0 - a
    canvas += a * rgb
    disp[alpha >= 0.5] = (np.broadcast_to(d, disp.shape))[alpha >= 0.5]


def _sky(cam: StereoCamera, xs: np.ndarray, ys: np.ndarray, seed: int, t: float) -> np.ndarray:
    """Sky at infinity (zero disparity): a gradient with drifting clouds."""
    u = (xs - cam.cx) / cam.focal_px
    v = (cam.horizon - ys) / cam.focal_px
    rgb = mix(_SKY, np.clip(v * 2.5, 0.0, 1.0))
    clouds = fbm(u * 3.0 + 0.01 * t, v * 9.0, seed + 7, octaves=5)
    cover = np.clip((clouds - 0.5) * 3.0, 0.0, 1.0)[..., None]
    return rgb * (1.0 - cover) + cover * np.float32(0.95)


def _ridge_y(cam, xs_row: np.ndarray, seed: int, side: str, layer: int, depth: float):
    """Image row of a hill ridge per column (the silhouette is fixed in world x)."""
    wx = (xs_row - cam.cx) * depth / cam.focal_px + cam.eye_x(side)
    ridge_m = depth * (0.03 + 0.10 * fbm(wx / (depth * 0.4), np.float32(layer), seed + 30 + layer))
    return cam.horizon - cam.focal_px * (ridge_m - CAMERA_HEIGHT_M) / depth


def _hills(cam, xs, ys, ridge_y, seed: int, side: str, layer: int, depth: float):
    """A ridge of hills at constant depth: its silhouette and its texture move together."""
    f = cam.focal_px
    alpha = np.clip(ys - ridge_y[None, :] + 0.5, 0.0, 1.0)
    wx = (xs - cam.cx) * depth / f + cam.eye_x(side)
    wy = (cam.horizon - ys) * depth / f
    scale = depth * 0.05
    tex = fbm(wx / scale, wy / scale, seed + 40 + layer, 6, depth / f / scale)
    rgb = mix(_HILLS[layer], tex)
    haze = np.float32(1.0 - np.exp(-depth / 500.0))
    return alpha, rgb * (1 - haze) + haze * _HAZE, cam.disparity(depth)


def _ground(cam, xs, ys, seed: int, side: str, objects, t: float):
    """The ground plane: grass and a dirt path, shadows under objects, haze with distance."""
    f, below = cam.focal_px, np.maximum(ys - cam.horizon, 1e-3)
    z = np.minimum(f * CAMERA_HEIGHT_M / below, GROUND_MAX_Z * 4)
    alpha = np.clip((ys - (cam.horizon + f * CAMERA_HEIGHT_M / GROUND_MAX_Z)) + 0.5, 0.0, 1.0)
    wx = (xs - cam.cx) * z / f + cam.eye_x(side)
    foot = np.maximum(z / f, z * z / (f * CAMERA_HEIGHT_M))
    grass = mix(GRASS, fbm(wx * 1.5, z * 1.5, seed + 50, 8, foot * 1.5))
    path_x = 2.5 * np.sin(z / 14.0 + seed) - 0.5
    on_path = np.clip(1.2 - np.abs(wx - path_x) + (fbm(wx, z, seed + 70, 3) - 0.5), 0.0, 1.0)
    rgb = grass
    near = on_path > 0.0
    if near.any():
        dirt = mix(DIRT, fbm(wx[near] * 3.0, z[near] * 3.0, seed + 60, 6, foot[near] * 3.0))
        w = on_path[near][..., None]
        rgb[near] = grass[near] * (1.0 - w) + dirt * w
    rgb *= _shadows(cam, wx, z, objects, t)[..., None]
    haze = (1.0 - np.exp(-z / 250.0))[..., None]
    return alpha, rgb * (1.0 - haze) + haze * _HAZE, cam.disparity(z)


def _shadows(cam, wx: np.ndarray, z: np.ndarray, objects, t: float) -> np.ndarray:
    shade = np.ones_like(z)
    for obj in objects:
        x, _ = obj.position(t, cam)
        r = obj.radius_m * (1.4 if obj.kind == "tree" else 1.0)
        q = ((wx - x - 0.3 * r) / r) ** 2 + ((z - obj.depth_m - 0.2 * r) / (0.6 * r)) ** 2
        shade *= 1.0 - 0.45 * np.clip(1.5 - q, 0.0, 1.0)
    return shade


def _paint_object(canvas, disp, cam, xs, ys, obj: SceneObject, side: str, t: float) -> None:
    """Paint one object inside its bounding box only (cheap for small or far objects)."""
    f, z = cam.focal_px, obj.depth_m
    x, lift = obj.position(t, cam)
    cx = cam.cx + f * (x - cam.eye_x(side)) / z
    cy = cam.horizon + f * (CAMERA_HEIGHT_M - lift) / z
    half = 2.6 * obj.radius_m * f / z + 2
    x0, x1 = max(int(cx - half), 0), min(int(cx + half) + 1, cam.width)
    y0, y1 = max(int(cy - half), 0), min(int(cy + half) + 1, cam.height)
    if x0 >= x1 or y0 >= y1:
        return
    lx = (xs[y0:y1, x0:x1] - cx) * z / f
    ly = (cy - ys[y0:y1, x0:x1]) * z / f
    alpha, rgb = OBJECT_KINDS[obj.kind](lx, ly, obj, z / f, t)
    _paint(canvas[y0:y1, x0:x1], disp[y0:y1, x0:x1], alpha, rgb, cam.disparity(z))
