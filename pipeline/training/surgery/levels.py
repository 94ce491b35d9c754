"""Give a trained checkpoint a new set of quality levels without retraining from scratch.

A variable-rate model's levels are its gain vectors (:class:`pipeline.codec.model.layers.GainUnit`),
one per lambda. Across levels a trained model's ``log |gain|`` is close to linear in
``log lambda`` channel by channel, so gains for new lambdas are interpolated (or extended
from the two outermost levels) on that line; training then refines them.

    python -m pipeline.training.surgery.levels runs/a/checkpoint.pt runs/b/checkpoint.pt \\
        --old-lambdas 0.0018 0.0035 0.0067 0.013 0.025 0.0483

writes a checkpoint with the levels of the registered model (``--model``), the other weights
unchanged, and no optimiser state (the next run starts its optimisers afresh).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path

import torch
from torch import Tensor

from pipeline.codec.model.registry import get_spec
from pipeline.help_text import command_parser
from pipeline.training.surgery.derive import save_derived
from pipeline.training.surgery.graft import LEVEL_SCALE

_GAIN_KEYS = ("gain.gain", "gain.inverse")


def resample_gains(gains: Tensor, old: Sequence[float], new: Sequence[float]) -> Tensor:
    """Gain vectors ``(len(new), C)`` for lambdas ``new`` from ``gains`` ``(len(old), C)``.

    ``log |gain|`` is taken as piecewise linear in ``log lambda`` between the known levels and
    linear beyond them (the outermost segment extended). ``old`` must increase strictly.
    """
    if gains.shape[0] != len(old) or len(old) < 2:
        raise ValueError(f"need one gain vector per old lambda (at least 2), got {gains.shape}")
    if any(b <= a for a, b in pairwise(old)) or min(*old, *new) <= 0:
        raise ValueError("lambdas must be positive and the old ones strictly increasing")
    x = torch.tensor([math.log(v) for v in old], dtype=torch.float64)
    y = gains.detach().abs().double().log()
    rows = []
    for value in new:
        target = math.log(value)
        i = min(max(int(torch.searchsorted(x, torch.tensor(target)).item()) - 1, 0), len(old) - 2)
        t = (target - x[i]) / (x[i + 1] - x[i])
        rows.append(y[i] + t * (y[i + 1] - y[i]))
    return torch.stack(rows).exp().to(gains.dtype)


def relevel_checkpoint(
    source: Path, target: Path, old: Sequence[float], new: Sequence[float]
) -> None:
    """Copy a training checkpoint with its gain vectors resampled to the lambdas ``new``."""
    state = torch.load(source, map_location="cpu", weights_only=False)
    model = dict(state["model"])
    for key in _GAIN_KEYS:
        model[key] = resample_gains(model[key], old, new)
    if LEVEL_SCALE in model:  # calibrated per level after training: back to 1, recalibrate
        model[LEVEL_SCALE] = torch.ones(len(new), dtype=model[LEVEL_SCALE].dtype)
    save_derived(state, model, target, relevelled_from=list(old))


def main(argv: list[str] | None = None) -> int:
    """Command line: relevel a checkpoint to a registered model's lambdas."""
    parser = command_parser("python -m pipeline.training.surgery.levels", __doc__)
    parser.add_argument("source", type=Path, help="training checkpoint to relevel")
    parser.add_argument("target", type=Path, help="checkpoint to write")
    parser.add_argument(
        "--old-lambdas",
        type=float,
        nargs="+",
        required=True,
        help="the lambdas SOURCE was trained at, one per level, increasing",
    )
    parser.add_argument("--model", default=None, help="registry id whose lambdas to take")
    args = parser.parse_args(argv)
    new = get_spec(args.model).config.lambdas
    relevel_checkpoint(args.source, args.target, args.old_lambdas, new)
    print(f"{args.target}: {len(args.old_lambdas)} levels -> {len(new)} levels {list(new)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
