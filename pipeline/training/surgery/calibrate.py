"""Calibrate the SI-Net's per-level residual scales on real stereo pairs.

The SI-Net is trained on crops at random levels; on full real frames its residual can hurt at
some levels (stage 13: up to 0.6 dB at the top ones) while it helps at others. For each level
q this finds the scale s_q in [0, 1] of the residual r = SI-Net output - X_dec that minimises
the squared error over the given pairs, in closed form: s_q = <r, X - X_dec> / <r, r>, clipped,
with the side view coded at the same level (the evaluation's setting).

    python -m pipeline.training.surgery.calibrate runs/a/checkpoint.pt runs/b/checkpoint.pt \\
        --pairs ../shared/data/stereo/euroc_v1_01 ../shared/data/stereo/vase --limit 6

Use pairs that are not evaluation pairs. Writes a checkpoint with ``si_net.level_scale`` set.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from pipeline.codec.inputs import read_image
from pipeline.codec.model.dsin import PAD_MULTIPLE, DsinCodec
from pipeline.codec.model.fusion import ResidualFit
from pipeline.codec.model.registry import get_spec
from pipeline.codec.model.si_net import ENSEMBLE_SIZES
from pipeline.codec.model.tensors import to_tensor
from pipeline.evaluation.images import find_pairs
from pipeline.help_text import command_parser


def residual_scales(
    model: DsinCodec, pairs: list[tuple[Tensor, Tensor]], ensemble: int = 1
) -> Tensor:
    """Per-level least-squares scales of the SI residual over ``pairs`` of (3, H, W) images,
    the residual of an SI-Net self-ensemble of ``ensemble`` passes."""
    fit = ResidualFit(model.config.levels)
    model.eval()
    with torch.no_grad():
        for left, right in pairs:
            for level in range(model.config.levels):
                index = torch.tensor([level])
                x_dec = model(left[None], index).x_dec.clamp(0, 1)
                side = model(right[None], index).x_dec.clamp(0, 1)
                fused = model.fuse(x_dec, side, level=index, scaled=False, ensemble=ensemble)
                fit.add(level, fused, x_dec, left[None])
    return fit.scales()


def _read(path: Path) -> Tensor:
    """An image as a (3, H, W) tensor, cropped to a multiple of the codec's padding."""
    image = to_tensor(read_image(path))
    height, width = (side // PAD_MULTIPLE * PAD_MULTIPLE for side in image.shape[-2:])
    return image[:, :height, :width]


def main(argv: list[str] | None = None) -> int:
    """Command line: calibrate a checkpoint's SI-Net scales and write a new checkpoint."""
    prog = "python -m pipeline.training.surgery.calibrate"
    parser = command_parser(prog, __doc__)
    parser.add_argument("source", type=Path, help="training checkpoint whose SI-Net scales to fit")
    parser.add_argument("target", type=Path, help="checkpoint to write")
    parser.add_argument("--pairs", nargs="+", required=True, help="stereo folders (not eval ones)")
    parser.add_argument("--limit", type=int, default=6, help="pairs per folder")
    parser.add_argument("--model", default=None, help="registry id (default: the default model)")
    parser.add_argument(
        "--self-ensemble", type=int, default=1, choices=ENSEMBLE_SIZES, help="SI-Net passes"
    )
    args = parser.parse_args(argv)
    state = torch.load(args.source, map_location="cpu", weights_only=False)
    model = DsinCodec(get_spec(args.model).config)
    model.load_state_dict(state["model"], strict=False)
    pairs = [
        (_read(p.left), _read(p.right))
        for folder in args.pairs
        for p in find_pairs(Path(folder))[: args.limit]
    ]
    scales = residual_scales(model, pairs, args.self_ensemble)
    state["model"] = {**state["model"], "si_net.level_scale": scales}
    args.target.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, args.target)
    print(f"{args.target}: {len(pairs)} pairs, scales {[round(float(s), 3) for s in scales]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
