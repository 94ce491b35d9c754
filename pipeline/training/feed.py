"""The training feed: an endless stream of (left, right) batches mixing real and synthetic pairs.

With ``pairs_needed=False`` (the codec-only stage) the feed skips the stereo rendering: both
halves of a batch are independent crops of single images, the natural images and each view of
the real pairs, so a batch holds twice as many different scenes and costs less to make.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from pipeline.training.datasets import (
    ImageFolderCrops,
    StereoPairFolder,
    SyntheticStereo,
    mix_datasets,
)

#: Share of real stereo pairs in a batch when both kinds are given (the rest synthetic).
REAL_SHARE = 0.4
_EPOCH = 4096


def make_batches(
    pairs: Sequence[str],
    images: Sequence[str],
    crop: int,
    batch: int,
    seed: int = 0,
    workers: int = 0,
    pairs_needed: bool = True,
) -> Iterator[tuple[Tensor, Tensor]]:
    """Endless batches of ``batch`` pairs, (B, 3, crop, crop) each, in [0, 1]."""
    if not (pairs or images):
        raise ValueError("give --pairs and/or --images folders to train on")
    size = (crop, crop)
    datasets: list[Dataset] = []
    if pairs_needed:
        datasets += [StereoPairFolder(pairs, size)] if pairs else []
        datasets += [SyntheticStereo(images, size, rng_seed=None)] if images else []
    else:
        views = [Path(d) / side for d in pairs for side in ("left", "right")]
        datasets += [ImageFolderCrops(views, size)] if pairs else []
        datasets += [ImageFolderCrops(images, size)] if images else []
    weights = [REAL_SHARE, 1.0 - REAL_SHARE] if len(datasets) == 2 else [1.0]
    generator = torch.Generator().manual_seed(seed)
    per_step = batch if pairs_needed else 2 * batch
    while True:
        data, sampler = mix_datasets(datasets, weights, _EPOCH, generator)
        loader = DataLoader(
            data, batch_size=per_step, sampler=sampler, num_workers=workers, drop_last=True
        )
        for item in loader:
            yield tuple(item) if pairs_needed else (item[:batch], item[batch:])
