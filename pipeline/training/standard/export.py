"""Write a trained standard-codec SI-Net as the registry's weights file.

    python -m pipeline.training.standard.export runs/si-std/run/calibrated.pt [--out-dir DIR]

Writes ``<DIR>/<name>-<hash>.pt`` (fp16 weights, exact scales; DIR defaults to the package's
weights folder, replacing the shipped file of that name) and prints its path. The name is the
one the registry gives the SI-Net of the net's codecs: ``si-std1`` for JPEG, WebP and AVIF,
``si-std2`` for H.264, HEVC and AV1.
"""

from __future__ import annotations

from pathlib import Path

import torch

from pipeline.codec.family import STANDARD, VIDEO, StandardFamily
from pipeline.codec.model.si_standard import StandardSIConfig, StandardSINet, export_standard_net
from pipeline.help_text import command_parser


def main(argv: list[str] | None = None) -> int:
    """Command line (module docstring)."""
    parser = command_parser("python -m pipeline.training.standard.export", __doc__)
    parser.add_argument("checkpoint", type=Path, help="calibrated checkpoint to export")
    parser.add_argument("--out-dir", type=Path, default=None, help="default: the package's")
    args = parser.parse_args(argv)
    state = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    net = StandardSINet(StandardSIConfig.from_stored(state["config"]))
    net.load_state_dict(state["model"])
    print(export_standard_net(net, weights_name(net.config.codecs), args.out_dir))
    return 0


def weights_name(codecs: tuple[str, ...]) -> str:
    """The weights name of the SI-Net serving ``codecs`` (a family's codecs, in its order)."""
    families: tuple[StandardFamily, ...] = (STANDARD, VIDEO)
    for family in families:
        if tuple(family.codecs) == tuple(codecs):
            (name,) = {family.weights_of_model(model_id) for model_id in family.model_ids()}
            return name
    raise ValueError(f"no codec family serves exactly {codecs}")


if __name__ == "__main__":
    raise SystemExit(main())
