"""The scene's objects as anti-aliased shapes with procedural texture, in object coordinates.

Each kind maps object-local metres ``(lx, ly)`` (x right, y up from the object's centre) to a
coverage in [0, 1] and an RGB colour; :data:`OBJECT_KINDS` names them.
"""

from __future__ import annotations

import numpy as np

from pipeline.scene.geometry import SceneObject
from pipeline.scene.texture import fbm, mix

GRASS = np.array([[0.20, 0.28, 0.10], [0.33, 0.45, 0.16], [0.50, 0.56, 0.26]], np.float32)
DIRT = np.array([[0.38, 0.30, 0.21], [0.55, 0.46, 0.33], [0.66, 0.58, 0.45]], np.float32)


def _coverage(sdf_m: np.ndarray, pixel_m: float) -> np.ndarray:
    """Anti-aliased coverage of a shape from its signed distance in metres."""
    return np.clip(0.5 - sdf_m / pixel_m, 0.0, 1.0)


def _ellipse_sdf(lx, ly, a: float, b: float) -> np.ndarray:
    return (np.sqrt((lx / a) ** 2 + (ly / b) ** 2) - 1.0) * min(a, b)


def _box_sdf(lx, ly, a: float, b: float, round_m: float = 0.0) -> np.ndarray:
    qx, qy = np.abs(lx) - a + round_m, np.abs(ly) - b + round_m
    outside = np.sqrt(np.maximum(qx, 0.0) ** 2 + np.maximum(qy, 0.0) ** 2)
    return outside + np.minimum(np.maximum(qx, qy), 0.0) - round_m


def _tree(lx, ly, obj: SceneObject, pixel_m: float, t: float):
    r, s = obj.radius_m, obj.tex_seed
    crown_y = ly - 0.45 * r
    wobble = 0.25 * r * (fbm(lx * 2.0 / r, crown_y * 2.0 / r, s + 1) - 0.5)
    crown = _ellipse_sdf(lx, crown_y, 1.0 * r, 1.15 * r) + wobble
    trunk = _box_sdf(lx, ly + 0.9 * r, 0.14 * r, 0.75 * r)
    in_crown = _coverage(crown, pixel_m)[..., None]
    light = 0.75 + 0.35 * np.clip((crown_y - lx) / (2.2 * r), -1.0, 1.0)[..., None]
    rgb = np.empty((*lx.shape, 3), np.float32)
    leafy = in_crown[..., 0] > 0.0
    leaves = fbm(lx[leafy] * 4.0, ly[leafy] * 4.0, s + 2, 6, pixel_m * 4.0)
    rgb[leafy] = mix(GRASS * 0.85, leaves) * light[leafy]
    bark = fbm(lx[~leafy] * 12.0, ly[~leafy] * 1.5, s + 3, 4, pixel_m * 12.0)
    rgb[~leafy] = mix(DIRT * 0.6, bark)
    return _coverage(np.minimum(crown, trunk), pixel_m), rgb


def _rock(lx, ly, obj: SceneObject, pixel_m: float, t: float):
    r, s = obj.radius_m, obj.tex_seed
    bumps = 0.3 * r * (fbm(lx * 1.5 / r, ly * 1.5 / r, s + 1, 3) - 0.5)
    sdf = _ellipse_sdf(lx, ly, 1.4 * r, 0.9 * r) + bumps
    grey = fbm(lx * 6.0, ly * 6.0, s + 2, 6, pixel_m * 6.0)[..., None]
    shade = 0.7 + 0.4 * np.clip((ly - 0.5 * lx) / (1.4 * r), -1.0, 1.0)[..., None]
    rgb = (np.float32([0.40, 0.39, 0.37]) + 0.35 * (grey - 0.5)) * shade
    return _coverage(sdf, pixel_m), rgb


def _ball(lx, ly, obj: SceneObject, pixel_m: float, t: float):
    r = obj.radius_m
    rr = np.clip((lx / r) ** 2 + (ly / r) ** 2, 0.0, 1.0)
    nz = np.sqrt(1.0 - rr)
    light = np.clip(0.25 + 0.8 * (0.5 * nz + 0.45 * ly / r - 0.35 * lx / r), 0.15, 1.2)
    spin = 1.8 * t * obj.speed_mps / r
    stripes = 0.5 + 0.5 * np.cos(6.0 * (lx * np.cos(spin) + ly * np.sin(spin)) / r)
    base = mix(np.float32([[0.85, 0.2, 0.15], [0.95, 0.85, 0.3]]), stripes)
    return _coverage(_ellipse_sdf(lx, ly, r, r), pixel_m), base * light[..., None]


def _crate(lx, ly, obj: SceneObject, pixel_m: float, t: float):
    r, s = obj.radius_m, obj.tex_seed
    grain = fbm(lx * 3.0, ly * 30.0, s + 1, 5, pixel_m * 30.0)
    plank = 1.0 - 0.35 * np.clip(1.0 - np.abs(np.sin(ly * np.pi * 3.0 / r)) * 20.0, 0.0, 1.0)
    frame = np.clip(np.abs(lx) - 0.82 * r, 0.0, 1.0) > 0
    wood = mix(np.float32([[0.45, 0.30, 0.15], [0.70, 0.52, 0.30]]), grain)
    rgb = wood * np.where(frame, 0.7, plank)[..., None]
    return _coverage(_box_sdf(lx, ly, r, r, 0.04 * r), pixel_m), rgb


def _sign(lx, ly, obj: SceneObject, pixel_m: float, t: float):
    r = obj.radius_m
    board = _box_sdf(lx, ly, 1.2 * r, 0.7 * r, 0.05 * r)
    post = _box_sdf(lx, ly + 1.4 * r, 0.06 * r, 1.4 * r)
    u, v = lx * 3.0 / r, ly * 3.0 / r
    soft = np.clip(np.sin(np.pi * u) * np.sin(np.pi * v) * 3.0 / (3.0 * pixel_m / r + 0.1), -1, 1)
    checks = mix(np.float32([[0.1, 0.15, 0.45], [0.92, 0.92, 0.88]]), 0.5 + 0.5 * soft)
    on_board = _coverage(board, pixel_m)[..., None]
    rgb = checks * on_board + np.float32([0.35, 0.35, 0.38]) * (1.0 - on_board)
    return _coverage(np.minimum(board, post), pixel_m), rgb


OBJECT_KINDS = {"tree": _tree, "rock": _rock, "ball": _ball, "crate": _crate, "sign": _sign}
