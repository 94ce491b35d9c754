"""Fit the standard-codec SI-Net's residual scale per codec and quality on held-out real pairs.

The SI-Net trains on crops; on full real frames its residual may hurt at some qualities while
it helps at others (as dsin-s1's did, docs/models.md). For each codec c and each quality q of
``--qualities`` this finds the scale s in [0, 1] of the residual r = SI-Net(X_dec, ...) - X_dec
that minimises the squared error over the pairs, in closed form s = <r, X - X_dec> / <r, r>,
with the right view coded by the same codec at the same quality (the evaluation's setting);
qualities in between get the linear interpolation, qualities outside the nearest end's scale.

    python -m pipeline.training.standard.calibrate runs/si-std/run/checkpoint.pt \\
        runs/si-std/run/calibrated.pt --pairs ../shared/data/stereo/kitti_raw_0926_0001 ...

Use pairs the SI-Net did not train on: by default the ``--holdout``-th pairs that
:mod:`.prepare` left out. Writes a checkpoint with ``codec_scale`` set and prints the scales.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from pipeline.codec.inputs import read_image
from pipeline.codec.model.fusion import ResidualFit, find
from pipeline.codec.model.si_standard import QUALITY_STEPS, StandardSIConfig, StandardSINet
from pipeline.codec.model.tensors import to_tensor
from pipeline.help_text import command_parser
from pipeline.training.data.datasets import list_pairs
from pipeline.training.standard.prepare import code

QUALITIES = (5, 10, 20, 35, 50, 70, 85, 95)


def held_out(folders: list[Path], holdout: int, per_folder: int) -> list[tuple[Path, Path]]:
    """The pairs :mod:`.prepare` left out (every ``holdout``-th), ``per_folder`` of each."""
    found = []
    for folder in folders:
        pairs = list_pairs([folder])
        found += [p for i, p in enumerate(pairs) if i % holdout == holdout - 1][:per_folder]
    return found


def fit_scales(
    net: StandardSINet, pairs: list[tuple[Path, Path]], qualities: tuple[int, ...]
) -> torch.Tensor:
    """(codecs, 101) scales: least squares at ``qualities``, interpolated in between."""
    fit = ResidualFit(len(net.config.codecs), len(qualities))
    with torch.no_grad():
        for left_path, right_path in pairs:
            left, right = read_image(left_path), read_image(right_path)
            if right.ndim != left.ndim:
                continue
            for c, codec in enumerate(net.config.codecs):
                for k, quality in enumerate(qualities):
                    _fit_one(net, fit, (c, k), left, right, codec, quality)
    at_grid = fit.scales().numpy()
    steps = np.arange(QUALITY_STEPS)
    scales = np.stack([np.interp(steps, qualities, row) for row in at_grid])
    return torch.tensor(scales, dtype=torch.float32)


def _fit_one(
    net: StandardSINet,
    fit: ResidualFit,
    cell: tuple[int, int],
    left: np.ndarray,
    right: np.ndarray,
    codec: str,
    quality: int,
) -> None:
    """Add one pair coded by ``codec`` at ``quality`` to ``fit``: found and fused exactly as
    the decoder does (:mod:`pipeline.codec.model.fusion`), the residual unscaled."""
    x_dec = to_tensor(code(codec, left, quality))
    y_syn, confidence = find(x_dec, to_tensor(code(codec, right, quality)), net.config.si_finder)
    codecs, qualities = torch.tensor([cell[0]]), torch.tensor([quality])
    fused = net(x_dec[None], y_syn[None], confidence[None], codecs, qualities, scaled=False)
    fit.add(cell, fused, x_dec[None], to_tensor(left)[None])


def main(argv: list[str] | None = None) -> int:
    """Command line (module docstring)."""
    parser = command_parser("python -m pipeline.training.standard.calibrate", __doc__)
    parser.add_argument("source", type=Path, help="a training checkpoint")
    parser.add_argument("target", type=Path, help="checkpoint to write, with the scales")
    parser.add_argument("--pairs", nargs="+", type=Path, required=True, help="training folders")
    parser.add_argument("--holdout", type=int, default=5, help="as given to prepare")
    parser.add_argument("--per-folder", type=int, default=2, help="held-out pairs per folder")
    parser.add_argument(
        "--qualities", nargs="+", type=int, default=list(QUALITIES), help="qualities to fit"
    )
    args = parser.parse_args(argv)
    state = torch.load(args.source, map_location="cpu", weights_only=False)
    net = StandardSINet(StandardSIConfig.from_stored(state["config"]))
    net.load_state_dict(state["model"])
    net.eval()
    pairs = held_out(args.pairs, args.holdout, args.per_folder)
    scales = fit_scales(net, pairs, tuple(sorted(args.qualities)))
    state["model"] = {**state["model"], "codec_scale": scales}
    args.target.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, args.target)
    for name, row in zip(net.config.codecs, scales, strict=True):
        shown = ", ".join(f"q{q} {float(row[q]):.3f}" for q in sorted(args.qualities))
        print(f"{name}: {shown}")
    print(f"{args.target}: {len(pairs)} pairs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
