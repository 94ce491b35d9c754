"""Synthetic rectified stereo pairs from single images, for training the side-information path.

Colour stereo data is scarce, so a right view is rendered from a natural image and a random
layered depth scene, in the spirit of Watson et al., "Learning Stereo from Single Images"
(ECCV 2020), with depth layers instead of a monocular depth network:

* a slanted background plane (the farthest layer) and a few random shapes (ellipses,
  rotated rectangles, polygons) at nearer, fronto-parallel depths;
* the left view is the image itself (cropped); each layer carries the image's texture, and the
  right view is rendered layer by layer, back to front, with the standard rectified convention
  ``right[y, x - d(x, y)] = left[y, x]``: nearer layers (larger disparity) win;
* pixels of the right view that no layer visible in the left view explains (disocclusions)
  are inpainted from their neighbours (OpenCV Telea);
* the right view then gets photometric differences (gain, bias, gamma, per-channel colour
  gain, slight blur) and sensor noise, which can be switched off.

The scene is ``max_disparity`` pixels wider than the left view so that the right view's
right-hand border, which sees beyond the left view, is real image content.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class SyntheticPair:
    """A rendered pair: uint8 views of one shape, the left view's disparity and its visibility.

    ``disparity[y, x]`` (float32, pixels, >= 0) is the disparity of the surface seen at left
    pixel (x, y); ``visible[y, x]`` is True where that surface is also seen in the right view.
    """

    left: np.ndarray
    right: np.ndarray
    disparity: np.ndarray
    visible: np.ndarray


@dataclass(frozen=True)
class _Layer:
    """A planar depth layer: ``d(x, y) = a + b*x + c*y`` over ``mask`` (scene coordinates)."""

    a: float
    b: float
    c: float
    mask: np.ndarray

    def disparity(self, height: int, width: int) -> np.ndarray:
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        return (self.a + self.b * xs + self.c * ys).astype(np.float32)

    def source_x(self, height: int, width: int) -> np.ndarray:
        """For each right-view pixel, the scene column this plane shows there."""
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        return ((xs + self.a + self.c * ys) / (1.0 - self.b)).astype(np.float32)


def make_stereo_pair(
    image: np.ndarray,
    rng: np.random.Generator,
    max_disparity: int = 48,
    crop: tuple[int, int] | None = None,
    max_shapes: int = 5,
    photometric: bool = True,
    noise: bool = True,
) -> SyntheticPair:
    """Render a rectified stereo pair from one uint8 image, grey ``(H, W)`` or RGB ``(H, W, 3)``.

    ``crop=(h, w)`` takes a random ``h x (w + max_disparity)`` window as the scene; without it
    the whole image is the scene and the left view is ``max_disparity`` pixels narrower.
    Deterministic for a given ``rng`` state. Raises ValueError if the image is too small.
    """
    scene = _scene(image, rng, max_disparity, crop)
    height, scene_width = scene.shape[:2]
    width = scene_width - max_disparity
    layers = _random_layers(rng, height, scene_width, max_disparity, max_shapes)
    left_ids = _left_layer_ids(layers)
    right, right_ids, disoccluded = _render_right(scene, layers, left_ids, width)
    right = _inpaint(right, disoccluded)
    if photometric:
        right = _photometric(right, rng)
    if noise:
        right = _add_noise(right, rng)
    disparity = _left_disparity(layers, left_ids)[:, :width]
    visible = _visible(disparity, left_ids[:, :width], right_ids)
    return SyntheticPair(np.ascontiguousarray(scene[:, :width]), right, disparity, visible)


def _scene(
    image: np.ndarray, rng: np.random.Generator, max_disparity: int, crop: tuple[int, int] | None
) -> np.ndarray:
    if max_disparity < 4:
        raise ValueError(f"max_disparity must be at least 4, got {max_disparity}")
    if image.dtype != np.uint8 or not (image.ndim == 2 or image.shape[2] == 3):
        raise ValueError(
            f"expected a uint8 grey (H, W) or RGB (H, W, 3) image, got {image.shape} {image.dtype}"
        )
    height, width = crop if crop is not None else (image.shape[0], image.shape[1] - max_disparity)
    need = (height, width + max_disparity)
    if width < 8 or image.shape[0] < need[0] or image.shape[1] < need[1]:
        raise ValueError(
            f"image {image.shape[:2]} too small for a {height}x{width} view "
            f"with max_disparity {max_disparity} (needs {need})"
        )
    top = int(rng.integers(0, image.shape[0] - need[0] + 1))
    left = int(rng.integers(0, image.shape[1] - need[1] + 1))
    return image[top : top + need[0], left : left + need[1]]


def _random_layers(
    rng: np.random.Generator, height: int, width: int, max_disparity: int, max_shapes: int
) -> list[_Layer]:
    """Background plane first, then shapes in order of increasing (nearer) disparity."""
    far = rng.uniform(0.0, 0.3) * max_disparity
    span = rng.uniform(0.0, 0.25) * max_disparity
    tilt = rng.uniform(-1.0, 1.0)
    b = span * tilt / width
    c = span * (1.0 - abs(tilt)) * rng.choice([-1.0, 1.0]) / height
    a = far - min(0.0, b * width) - min(0.0, c * height)
    layers = [_Layer(a, b, c, np.ones((height, width), bool))]
    nearest_background = far + span
    count = int(rng.integers(1, max_shapes + 1)) if max_shapes > 0 else 0
    depths = np.sort(rng.uniform(nearest_background + 1.0, max_disparity, count))
    layers += [_Layer(float(d), 0.0, 0.0, _random_shape(rng, height, width)) for d in depths]
    return layers


def _random_shape(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    mask = np.zeros((height, width), np.uint8)
    centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
    size = max(4, int(rng.uniform(0.08, 0.35) * min(height, width)))
    kind = rng.integers(0, 3)
    if kind == 0:
        axes = (size, max(3, int(size * rng.uniform(0.4, 1.0))))
        cv2.ellipse(mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    elif kind == 1:
        box = (
            (float(centre[0]), float(centre[1])),
            (2.0 * size, size * rng.uniform(0.5, 2.0)),
            0.0,
        )
        box = (box[0], box[1], float(rng.uniform(0, 180)))
        cv2.fillPoly(mask, [cv2.boxPoints(box).astype(np.int32)], 1)
    else:
        angles = np.sort(rng.uniform(0, 2 * np.pi, int(rng.integers(3, 8))))
        radii = size * rng.uniform(0.5, 1.0, angles.size)
        points = np.stack([centre[0] + radii * np.cos(angles), centre[1] + radii * np.sin(angles)])
        cv2.fillPoly(mask, [points.T.astype(np.int32)], 1)
    return mask.astype(bool)


def _left_layer_ids(layers: list[_Layer]) -> np.ndarray:
    """Index of the nearest layer at every scene pixel, as the left camera sees it."""
    ids = np.zeros(layers[0].mask.shape, np.int32)
    for index, layer in enumerate(layers[1:], start=1):
        ids[layer.mask] = index
    return ids


def _left_disparity(layers: list[_Layer], ids: np.ndarray) -> np.ndarray:
    height, width = ids.shape
    disparity = layers[0].disparity(height, width)
    for index, layer in enumerate(layers[1:], start=1):
        disparity[ids == index] = layer.a
    return disparity


def _render_right(
    scene: np.ndarray, layers: list[_Layer], left_ids: np.ndarray, width: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Right view, the layer seen at each of its pixels (-1: disoccluded), disoccluded pixels.

    Each layer is warped backwards (its plane is inverted exactly); drawing back to front makes
    the nearer layer win. A right pixel is disoccluded where the scene point its layer shows
    there is hidden in the left view by a nearer layer.
    """
    height = scene.shape[0]
    right = np.zeros((height, width, *scene.shape[2:]), np.uint8)
    right_ids = np.zeros((height, width), np.int32)
    disoccluded = np.zeros((height, width), bool)
    rows = np.mgrid[0:height, 0:width][0].astype(np.float32)
    for index, layer in enumerate(layers):
        source_x = layer.source_x(height, width)
        column = np.clip(np.rint(source_x), 0, scene.shape[1] - 1).astype(np.int32)
        covered = layer.mask[rows.astype(np.int32), column] & (source_x <= scene.shape[1] - 1)
        if index == 0:
            covered[:] = True
        texture = cv2.remap(scene, source_x, rows, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        right[covered] = texture[covered]
        right_ids[covered] = index
        disoccluded[covered] = left_ids[rows.astype(np.int32), column][covered] != index
    right_ids[disoccluded] = -1
    return right, right_ids, disoccluded


def _inpaint(right: np.ndarray, disoccluded: np.ndarray) -> np.ndarray:
    if not disoccluded.any():
        return right
    return cv2.inpaint(right, disoccluded.astype(np.uint8), 3, cv2.INPAINT_TELEA)


def _visible(disparity: np.ndarray, left_ids: np.ndarray, right_ids: np.ndarray) -> np.ndarray:
    """Left pixels whose surface the right view shows (both neighbouring right columns agree)."""
    height, width = disparity.shape
    target = np.arange(width, dtype=np.float32)[None, :] - disparity
    inside = (target >= 0) & (target <= width - 1)
    rows = np.arange(height)[:, None]
    low = np.clip(np.floor(target), 0, width - 1).astype(np.int32)
    high = np.clip(np.ceil(target), 0, width - 1).astype(np.int32)
    return inside & (right_ids[rows, low] == left_ids) & (right_ids[rows, high] == left_ids)


def _photometric(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gain, bias, gamma, per-channel colour gain and a slight blur: a second camera's look."""
    values = image.astype(np.float32) / 255.0
    values = values ** rng.uniform(0.85, 1.15)
    values = values * rng.uniform(0.85, 1.15) + rng.uniform(-0.05, 0.05)
    if values.ndim == 3:
        values = values * rng.uniform(0.95, 1.05, values.shape[2]).astype(np.float32)
    sigma = rng.uniform(0.0, 0.8)
    if sigma > 0.3:
        values = cv2.GaussianBlur(values, (0, 0), sigma)
    return np.clip(np.rint(values * 255.0), 0, 255).astype(np.uint8)


def _add_noise(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    sigma = rng.uniform(0.5, 3.0)
    noisy = image.astype(np.float32) + rng.normal(0.0, sigma, image.shape).astype(np.float32)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
