"""A tiny codec and its widened copy, and one training step, for the widening tests."""

from __future__ import annotations

from collections.abc import Callable

import torch

from pipeline.codec.model.dsin import CodecConfig, DsinCodec
from pipeline.training.loop.loss import codec_loss

SMALL = dict(n=16, n_a=16, n_h=16, m=16, nz=16, groups=2, si_width=8, lambdas=(0.01, 0.05))


def widened_pair(
    widen: Callable[[dict], dict],
    narrow: dict,
    wide: dict,
    prepare: Callable[[DsinCodec], None] | None = None,
) -> tuple[DsinCodec, DsinCodec]:
    """Seeded: a :data:`SMALL` codec with ``narrow``'s widths (``prepare`` then changes its
    weights, without gradients), and one with ``wide``'s widths loaded strictly (every shape
    must fit) from ``widen`` of the first's state."""
    torch.manual_seed(0)
    small = DsinCodec(CodecConfig(**{**SMALL, **narrow})).eval()
    if prepare is not None:
        with torch.no_grad():
            prepare(small)
    big = DsinCodec(CodecConfig(**{**SMALL, **wide})).eval()
    big.load_state_dict(widen(small.state_dict()))
    return small, big


def first_step_backward(model: DsinCodec) -> None:
    """Back-propagate ``model``'s training loss (in training mode) on one random pair."""
    model.train()
    image = torch.rand(2, 3, 64, 64)
    level = torch.tensor([1, 1])
    codec_loss(model, image, image.flip(-1), level, level).loss.backward()
