"""The training feed: an endless stream of (left, right) batches mixing real and synthetic pairs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from pipeline.training.datasets import StereoPairFolder, SyntheticStereo, mix_datasets

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
) -> Iterator[tuple[Tensor, Tensor]]:
    """Endless batches of ``batch`` pairs, (B, 3, crop, crop) each, in [0, 1]."""
    datasets: list[Dataset] = []
    weights: list[float] = []
    if pairs:
        datasets.append(StereoPairFolder(pairs, (crop, crop)))
        weights.append(REAL_SHARE if images else 1.0)
    if images:
        datasets.append(SyntheticStereo(images, (crop, crop), rng_seed=None))
        weights.append(1.0 - REAL_SHARE if pairs else 1.0)
    if not datasets:
        raise ValueError("give --pairs and/or --images folders to train on")
    generator = torch.Generator().manual_seed(seed)
    while True:
        data, sampler = mix_datasets(datasets, weights, _EPOCH, generator)
        loader = DataLoader(
            data, batch_size=batch, sampler=sampler, num_workers=workers, drop_last=True
        )
        yield from loader
