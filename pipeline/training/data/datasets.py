"""Torch datasets for training: real stereo pairs, single natural images, synthetic stereo pairs.

Every item is a float tensor in [0, 1] of shape ``(3, h, w)`` (a pair is ``(left, right)``).
Grey images are replicated to three channels (unless ``grey_to_rgb=False``, which keeps one),
RGBA loses its alpha, 16-bit images are scaled to 8 bits, and an image smaller than the crop is
mirror-padded (or skipped with ``small="skip"``). Random crops use ``torch``'s global generator,
so ``DataLoader`` seeds each worker and ``torch.manual_seed`` makes a run reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import ConcatDataset, Dataset, WeightedRandomSampler

from pipeline.codec.model.tensors import to_tensor
from pipeline.image_folders import IMAGE_SUFFIXES, images_in, stereo_pairs
from pipeline.training.data.rendered_stereo import make_stereo_pair

SmallPolicy = Literal["pad", "skip"]


def read_8bit(path: Path) -> np.ndarray:
    """An 8-bit image as OpenCV holds it: BGR, or grey; 16 bits scaled, alpha dropped."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(f"{path}: not a readable image")
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    return image[:, :, :3] if image.ndim == 3 and image.shape[2] == 4 else image


def read_rgb(path: Path, grey_to_rgb: bool = True) -> np.ndarray:
    """Read an image as uint8 ``(H, W, 3)`` RGB, or ``(H, W, 1)`` grey when not replicated."""
    image = read_8bit(path)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.shape[2] == 1:
        return np.repeat(image, 3, axis=2) if grey_to_rgb else image
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def pad_to(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Mirror-pad ``(H, W, C)`` on the bottom and right to at least ``height x width``."""
    pad_h, pad_w = max(0, height - image.shape[0]), max(0, width - image.shape[1])
    if not (pad_h or pad_w):
        return image
    return np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode="symmetric")


def random_offset(size: int, crop: int) -> int:
    """A uniform crop start in ``[0, size - crop]`` from torch's generator."""
    return int(torch.randint(0, size - crop + 1, ()).item())


def list_images(dirs: Sequence[Path | str]) -> list[Path]:
    """Image files directly inside each folder, sorted; raises if a folder has none."""
    files: list[Path] = []
    for folder in map(Path, dirs):
        found = images_in(folder)
        if not found:
            raise FileNotFoundError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)})")
        files += found
    return files


def list_pairs(dirs: Sequence[Path | str]) -> list[tuple[Path, Path]]:
    """``(left, right)`` files of every ``DIR/left/NAME`` with a ``DIR/right/NAME``."""
    return [pair for folder in dirs for pair in stereo_pairs(Path(folder))]


def _fits(path: Path, crop: tuple[int, int]) -> bool:
    with Image.open(path) as image:
        width, height = image.size
    return height >= crop[0] and width >= crop[1]


class StereoPairFolder(Dataset):
    """Rectified stereo pairs from ``DIR/left/NNNNNN.png`` and ``DIR/right/NNNNNN.png``.

    Both views are cropped at the same position (rectified rows must stay aligned, and the
    same columns keep the disparities the network will see at test time). Views of different
    widths (the ``vase`` set) are cropped within the narrower one.
    """

    def __init__(
        self,
        dirs: Sequence[Path | str],
        crop: tuple[int, int] = (256, 256),
        grey_to_rgb: bool = True,
        small: SmallPolicy = "pad",
    ) -> None:
        self.crop = crop
        self.grey_to_rgb = grey_to_rgb
        pairs = list_pairs(dirs)
        if small == "skip":
            pairs = [p for p in pairs if _fits(p[0], crop) and _fits(p[1], crop)]
        if not pairs:
            raise ValueError(f"no pair is at least {crop[0]}x{crop[1]}")
        self.pairs = pairs

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        left_path, right_path = self.pairs[index]
        left = read_rgb(left_path, self.grey_to_rgb)
        right = read_rgb(right_path, self.grey_to_rgb)
        if left.shape[2] != right.shape[2]:
            raise ValueError(f"{left_path.name}: left and right differ in channels")
        height = min(left.shape[0], right.shape[0])
        width = min(left.shape[1], right.shape[1])
        left = pad_to(left[:height, :width], *self.crop)
        right = pad_to(right[:height, :width], *self.crop)
        top = random_offset(left.shape[0], self.crop[0])
        start = random_offset(left.shape[1], self.crop[1])
        window = (slice(top, top + self.crop[0]), slice(start, start + self.crop[1]))
        return to_tensor(left[window]), to_tensor(right[window])


class ImageFolderCrops(Dataset):
    """Random ``crop`` windows of single natural images (``DIR/*.png``, JPEG and others too)."""

    def __init__(
        self,
        dirs: Sequence[Path | str],
        crop: tuple[int, int] = (256, 256),
        small: SmallPolicy = "pad",
    ) -> None:
        self.crop = crop
        files = list_images(dirs)
        self.files = [f for f in files if _fits(f, crop)] if small == "skip" else files
        if not self.files:
            raise ValueError(f"no image is at least {crop[0]}x{crop[1]}")

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> Tensor:
        image = pad_to(read_rgb(self.files[index]), *self.crop)
        top = random_offset(image.shape[0], self.crop[0])
        start = random_offset(image.shape[1], self.crop[1])
        return to_tensor(image[top : top + self.crop[0], start : start + self.crop[1]])


class SyntheticStereo(Dataset):
    """Stereo pairs rendered from single images by :func:`make_stereo_pair`.

    With ``rng_seed`` set, item ``i`` of epoch ``e`` (see :meth:`set_epoch`) is always the same
    pair; with ``rng_seed=None`` the pair is drawn from torch's generator (one per worker).
    """

    def __init__(
        self,
        image_dirs: Sequence[Path | str],
        crop: tuple[int, int] = (256, 256),
        rng_seed: int | None = None,
        max_disparity: int = 48,
    ) -> None:
        self.files = list_images(image_dirs)
        self.crop = crop
        self.rng_seed = rng_seed
        self.max_disparity = max_disparity
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Draw new pairs for a new epoch while staying reproducible."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        if self.rng_seed is None:
            rng = np.random.default_rng(int(torch.randint(0, 2**62, ()).item()))
        else:
            rng = np.random.default_rng([self.rng_seed, self.epoch, index])
        height, width = self.crop
        image = pad_to(
            read_rgb(self.files[index], grey_to_rgb=False), height, width + self.max_disparity
        )
        source = image[:, :, 0] if image.shape[2] == 1 else image
        pair = make_stereo_pair(source, rng, self.max_disparity, crop=self.crop)
        # grey is rendered as grey (its photometric changes stay grey), then replicated to RGB
        return to_tensor(pair.left), to_tensor(pair.right)


def mix_datasets(
    datasets: Sequence[Dataset],
    weights: Sequence[float],
    num_samples: int,
    generator: torch.Generator | None = None,
) -> tuple[ConcatDataset, WeightedRandomSampler]:
    """Concatenate datasets and a sampler that draws from dataset ``i`` with share ``weights[i]``.

    Use as ``DataLoader(data, sampler=sampler, batch_size=...)``. Every dataset must yield the
    same kind of item (all pairs, or all single images).
    """
    if len(datasets) != len(weights) or not datasets:
        raise ValueError("give one weight per dataset, and at least one dataset")
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError(f"weights must be non-negative with a positive sum, got {list(weights)}")
    per_item = torch.cat(
        [
            torch.full((len(d),), w / len(d), dtype=torch.double)
            for d, w in zip(datasets, weights, strict=True)
        ]
    )
    sampler = WeightedRandomSampler(per_item, num_samples, replacement=True, generator=generator)
    return ConcatDataset(datasets), sampler
