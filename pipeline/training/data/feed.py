"""The training feed: an endless stream of (left, right) batches mixing real and synthetic pairs.

With ``pairs_needed=False`` (the codec-only stage) the feed skips the stereo rendering: both
halves of a batch are independent crops of single images, the natural images and each view of
the real pairs, so a batch holds twice as many different scenes and costs less to make.

``grey_share`` turns that share of the items grey (luma, replicated to three channels, both
views of a pair alike), for a mix closer to grey cameras: two of the three evaluation sets are.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from pipeline.training.data.datasets import (
    ImageFolderCrops,
    StereoPairFolder,
    SyntheticStereo,
    mix_datasets,
)

#: Share of real stereo pairs in a batch when both kinds are given (the rest synthetic).
REAL_SHARE = 0.4
_EPOCH = 4096
#: ITU-R BT.601 luma weights, as OpenCV's RGB2GRAY (which the evaluation uses for grey).
LUMA = (0.299, 0.587, 0.114)


def make_batches(
    pairs: Sequence[str],
    images: Sequence[str],
    crop: int,
    batch: int,
    seed: int = 0,
    workers: int = 0,
    pairs_needed: bool = True,
    grey_share: float = 0.0,
) -> Iterator[tuple[Tensor, Tensor]]:
    """Endless batches of ``batch`` pairs, (B, 3, crop, crop) each, in [0, 1].

    ``grey_share``: the share of items made grey (:func:`make_grey`).
    """
    if not (pairs or images):
        raise ValueError("give --pairs and/or --images folders to train on")
    if not 0.0 <= grey_share <= 1.0:
        raise ValueError(f"grey_share must be within [0, 1], got {grey_share}")
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
            left, right = item if pairs_needed else (item[:batch], item[batch:])
            if grey_share:
                chosen = torch.rand(2 * batch, generator=generator) < grey_share
                # a pair's views go grey together; independent crops each get their own draw
                other = chosen[:batch] if pairs_needed else chosen[batch:]
                left, right = make_grey(left, chosen[:batch]), make_grey(right, other)
            yield left, right


def make_grey(images: Tensor, chosen: Tensor) -> Tensor:
    """``images`` (B, 3, H, W) with the ``chosen`` items (B,) replaced by their luma, x3."""
    if not chosen.any():
        return images
    weights = torch.tensor(LUMA, dtype=images.dtype).view(1, 3, 1, 1)
    luma = (images * weights).sum(dim=1, keepdim=True).expand_as(images)
    return torch.where(chosen.view(-1, 1, 1, 1), luma, images)
