"""Training clips for the video codecs' SI-Net: short stereo sequences, real or made to move.

A clip is what a camera would stream for a few seconds: consecutive frames of a real stereo
sequence, a still stereo pair (a real one, or one rendered from a natural image) seen by a
camera that pans and zooms slowly, or the demo's rendered scene (:mod:`pipeline.scene`) moving.
Both views of every frame are cut to an even size (4:2:0 video), as a camera's stream has.

Held out for calibration and measurement (``split="holdout"``): the last ``1/holdout`` of each
real sequence's frames (one clip), and every ``holdout``-th still and scene clip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from pipeline.scene.geometry import NOMINAL_FPS
from pipeline.scene.render import render_stereo_frame
from pipeline.training.data.datasets import list_images, list_pairs
from pipeline.training.standard.prepare import Source, views

Split = Literal["train", "holdout"]
Frames = list[tuple[np.ndarray, np.ndarray]]

#: The rendered scene's frame size (the demo's) and its frame rate here (a 10 fps camera).
SCENE_SIZE = (640, 480)
SCENE_FPS = 10.0
#: A moving still shows this share of the image (the rest is room to pan and zoom into).
WINDOW = 0.8
#: Per frame: the largest pan (pixels, horizontal; half that vertically) and zoom step.
MAX_PAN_PX = 3.0
MAX_ZOOM_STEP = 0.006
#: The largest sensor noise (grey levels, sigma) added to each frame of a synthetic clip.
MAX_NOISE = 1.5


@dataclass(frozen=True)
class Clip:
    """One training clip. ``pairs``: the (left, right) files of a real sequence's frames in
    order, or with ``still`` one still pair (``right`` None: a natural image, rendered into a
    pair); ``scene``: the rendered scene's seed (``pairs`` empty); ``length``: frames of a
    still or scene clip."""

    name: str
    pairs: tuple[tuple[Path, Path | None], ...] = ()
    still: bool = False
    scene: int | None = None
    length: int = 10


def clips(
    sequences: Sequence[Path],
    stills: Sequence[Path],
    images: Sequence[Path],
    scenes: int,
    length: int,
    holdout: int,
    split: Split,
) -> list[Clip]:
    """The clips of ``split``: real ``sequences`` cut into clips of ``length`` frames (their
    tails held out), every pair of ``stills``, every natural image of ``images`` and ``scenes``
    rendered scene seeds as moving clips of ``length`` frames (every ``holdout``-th held out)."""
    found = []
    for folder in sequences:
        found += _sequence_clips(folder, length, holdout, split)
    still = [
        Clip(f"{f.name}_{left.stem}", ((left, right),), still=True, length=length)
        for f in stills
        for left, right in list_pairs([f])
    ]
    still += [
        Clip(f"{p.parent.name}_{p.stem}", ((p, None),), still=True, length=length)
        for p in list_images(images)
    ]
    still += [Clip(f"scene_{seed}", scene=seed, length=length) for seed in range(scenes)]
    found += [c for i, c in enumerate(still) if _held_out(i, holdout) == (split == "holdout")]
    return found


def _held_out(index: int, holdout: int) -> bool:
    return holdout > 0 and index % holdout == holdout - 1


def _sequence_clips(folder: Path, length: int, holdout: int, split: Split) -> list[Clip]:
    """A real sequence's clips: its tail (the last ``1/holdout`` of its frames, at least one)
    as one held-out clip, the frames before it cut into clips of ``length``."""
    pairs = list_pairs([folder])
    tail = max(1, len(pairs) // holdout) if holdout else 0
    if split == "holdout":
        return [Clip(f"{folder.name}_tail", tuple(pairs[len(pairs) - tail :]))] if tail else []
    head = pairs[: len(pairs) - tail]
    return [
        Clip(f"{folder.name}_{start:04d}", tuple(head[start : start + length]))
        for start in range(0, len(head), length)
        if len(head[start : start + length]) > 1 or len(head) == 1
    ]


def clip_frames(clip: Clip, rng: np.random.Generator) -> Frames:
    """The clip's (left, right) uint8 frames in order, both views cut to an even size."""
    if clip.scene is not None:
        step = max(1, round(NOMINAL_FPS / SCENE_FPS))
        frames = [
            render_stereo_frame(i * step, *SCENE_SIZE, clip.scene) for i in range(clip.length)
        ]
        return [(_noisy(left, rng), _noisy(right, rng)) for left, right in frames]
    if not clip.still:
        return [_even(*views(Source(clip.name, left, right), rng)) for left, right in clip.pairs]
    ((left, right),) = clip.pairs
    return moving_still(*views(Source(clip.name, left, right), rng), clip.length, rng)


def moving_still(
    left: np.ndarray, right: np.ndarray, length: int, rng: np.random.Generator
) -> Frames:
    """``length`` frames of a still pair seen by a camera panning and zooming slowly: the same
    affine window of both views (rows stay aligned; a zoom scales the disparities with the
    image), each frame with a little sensor noise of its own."""
    height, width = left.shape[:2]
    out = (_even_size(WINDOW * width), _even_size(WINDOW * height))
    pan = rng.uniform(-MAX_PAN_PX, MAX_PAN_PX) * np.array([1.0, 0.5])
    zoom = 1.0 + rng.uniform(0.0, MAX_ZOOM_STEP)
    noise = rng.uniform(0.0, MAX_NOISE)
    start = np.array([width, height]) / 2 - pan * (length - 1) / 2
    frames = []
    for i in range(length):
        centre, scale = start + i * pan, zoom**i
        # Source pixel p lands on output pixel out / 2 + scale * (p - centre): the window is
        # out / scale source pixels wide around ``centre``.
        matrix = np.array(
            [
                [scale, 0.0, out[0] / 2 - scale * centre[0]],
                [0.0, scale, out[1] / 2 - scale * centre[1]],
            ]
        )
        pair = [
            cv2.warpAffine(view, matrix, out, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            for view in (left, right)
        ]
        frames.append((_noisy(pair[0], rng, noise), _noisy(pair[1], rng, noise)))
    return frames


def _noisy(image: np.ndarray, rng: np.random.Generator, sigma: float | None = None) -> np.ndarray:
    sigma = rng.uniform(0.0, MAX_NOISE) if sigma is None else sigma
    noisy = image.astype(np.float32) + rng.normal(0.0, sigma, image.shape).astype(np.float32)
    return np.clip(np.round(noisy), 0, 255).astype(np.uint8)


def _even(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return tuple(v[: v.shape[0] // 2 * 2, : v.shape[1] // 2 * 2] for v in (left, right))


def _even_size(value: float) -> int:
    return max(2, int(value) // 2 * 2)
