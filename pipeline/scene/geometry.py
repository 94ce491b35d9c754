"""The scene's geometry: the rectified stereo rig and the objects in front of it.

A point at depth ``Z`` metres appears ``d = f * B / Z`` pixels further left in the right view
than in the left one (focal length ``f = 0.9 * width`` pixels, baseline :data:`BASELINE_M`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NOMINAL_FPS = 30.0
BASELINE_M = 0.12
CAMERA_HEIGHT_M = 1.6


@dataclass(frozen=True)
class StereoCamera:
    """The rig's pinhole geometry at a given image size (rectified, parallel axes)."""

    width: int
    height: int

    @property
    def focal_px(self) -> float:
        return 0.9 * self.width

    @property
    def cx(self) -> float:
        return (self.width - 1) / 2.0

    @property
    def horizon(self) -> float:
        return 0.42 * self.height

    def disparity(self, depth_m: float | np.ndarray) -> float | np.ndarray:
        """Pixels a point at ``depth_m`` shifts left from the left view to the right: f*B/Z."""
        return self.focal_px * BASELINE_M / depth_m

    def eye_x(self, side: str) -> float:
        """World x of the camera centre: the right camera sits one baseline to the right."""
        return BASELINE_M if side == "right" else 0.0


@dataclass(frozen=True)
class SceneObject:
    """One textured object, a flat (fronto-parallel) cut-out at constant depth ``depth_m``."""

    kind: str  # "tree", "rock", "ball", "crate" or "sign"
    depth_m: float
    radius_m: float
    x0_m: float
    speed_mps: float
    tex_seed: int

    def position(self, t: float, cam: StereoCamera) -> tuple[float, float]:
        """World (x, height of centre) at time ``t``; movers wrap around the field of view."""
        span = cam.cx / cam.focal_px * self.depth_m + 2.0 * self.radius_m
        x = (self.x0_m + self.speed_mps * t + span) % (2.0 * span) - span
        lift = self.radius_m * (1.6 if self.kind == "tree" else 1.0)
        if self.kind == "ball":
            lift += 1.2 * abs(np.sin(2.2 * t + self.tex_seed))
        if self.kind == "sign":
            lift += 0.9
        return x, lift


def scene_objects(seed: int) -> tuple[SceneObject, ...]:
    """The scene's objects for ``seed``, sorted far to near (the painting order)."""
    rng = np.random.default_rng(seed)
    specs = [  # kind, depth range, radius range, speed range
        ("tree", (18.0, 32.0), (1.6, 2.4), (0.0, 0.0)),
        ("tree", (10.0, 16.0), (1.2, 1.8), (0.0, 0.0)),
        ("rock", (7.0, 12.0), (0.5, 0.9), (0.0, 0.0)),
        ("sign", (12.0, 20.0), (0.7, 1.0), (-1.5, -0.8)),
        ("crate", (6.0, 10.0), (0.45, 0.7), (0.6, 1.2)),
        ("ball", (3.5, 5.5), (0.25, 0.35), (-0.9, -0.5)),
    ]
    objects = []
    for i, (kind, depth, radius, speed) in enumerate(specs):
        z = float(rng.uniform(*depth))
        x0 = float(rng.uniform(-0.5, 0.5)) * z
        objects.append(
            SceneObject(kind, z, float(rng.uniform(*radius)), x0, float(rng.uniform(*speed)), i)
        )
    return tuple(sorted(objects, key=lambda o: -o.depth_m))


def object_center_px(
    obj: SceneObject, index: int, width: int, height: int, side: str
) -> tuple[float, float]:
    """Pixel (x, y) of an object's centre in one view at frame ``index``."""
    cam = StereoCamera(width, height)
    x, lift = obj.position(index / NOMINAL_FPS, cam)
    f, z = cam.focal_px, obj.depth_m
    px = cam.cx + f * (x - cam.eye_x(side)) / z
    py = cam.horizon + f * (CAMERA_HEIGHT_M - lift) / z
    return px, py
