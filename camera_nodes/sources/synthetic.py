"""A built-in moving stereo scene: the demo's default source, and a source with known disparity.

The scene is an outdoor view seen by a rectified stereo pair (baseline :data:`BASELINE_M`,
focal length ``0.9 * width`` pixels, optical axes parallel): sky with clouds at infinity, two
ridges of hills, a textured ground plane with a dirt path, and several textured objects (trees,
rocks, a bouncing ball, a rolling crate, a sign) at different depths, some moving. Every layer
is a continuous procedural texture in world coordinates, rendered from each eye's position, so a
point at depth ``Z`` appears ``d = f * B / Z`` pixels further left in the right view than in the
left one (sub-pixel exact); nearer layers are painted over farther ones (occlusion by depth).

Rendering is deterministic given ``(index, width, height, seed)``: both camera nodes of a rig run
the same scene with the same seed and each renders its own view, and the demo re-renders the
originals to compute PSNR. Time is ``index / NOMINAL_FPS`` seconds whatever the capture rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from camera_nodes.sources.texture import fbm, mix

NOMINAL_FPS = 30.0
BASELINE_M = 0.12
CAMERA_HEIGHT_M = 1.6
GROUND_MAX_Z = 300.0
HILL_DEPTHS = (600.0, 160.0)
SIDES = ("left", "right")

_SKY = np.array([[0.50, 0.66, 0.86], [0.36, 0.55, 0.82], [0.22, 0.40, 0.72]], np.float32)
_HAZE = np.array([0.72, 0.78, 0.85], np.float32)
_GRASS = np.array([[0.20, 0.28, 0.10], [0.33, 0.45, 0.16], [0.50, 0.56, 0.26]], np.float32)
_DIRT = np.array([[0.38, 0.30, 0.21], [0.55, 0.46, 0.33], [0.66, 0.58, 0.45]], np.float32)
_HILLS = (
    np.array([[0.42, 0.50, 0.60], [0.55, 0.62, 0.70]], np.float32),
    np.array([[0.17, 0.30, 0.17], [0.30, 0.42, 0.22], [0.42, 0.48, 0.30]], np.float32),
)


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
    grass = mix(_GRASS, fbm(wx * 1.5, z * 1.5, seed + 50, 8, foot * 1.5))
    path_x = 2.5 * np.sin(z / 14.0 + seed) - 0.5
    on_path = np.clip(1.2 - np.abs(wx - path_x) + (fbm(wx, z, seed + 70, 3) - 0.5), 0.0, 1.0)
    rgb = grass
    near = on_path > 0.0
    if near.any():
        dirt = mix(_DIRT, fbm(wx[near] * 3.0, z[near] * 3.0, seed + 60, 6, foot[near] * 3.0))
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
    alpha, rgb = _OBJECT_KINDS[obj.kind](lx, ly, obj, z / f, t)
    _paint(canvas[y0:y1, x0:x1], disp[y0:y1, x0:x1], alpha, rgb, cam.disparity(z))


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
    rgb[leafy] = mix(_GRASS * 0.85, leaves) * light[leafy]
    bark = fbm(lx[~leafy] * 12.0, ly[~leafy] * 1.5, s + 3, 4, pixel_m * 12.0)
    rgb[~leafy] = mix(_DIRT * 0.6, bark)
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


_OBJECT_KINDS = {"tree": _tree, "rock": _rock, "ball": _ball, "crate": _crate, "sign": _sign}
