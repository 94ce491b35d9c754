"""Write a trained standard-codec SI-Net as the registry's weights file.

    python -m pipeline.training.standard.export runs/si-std/run/calibrated.pt [--out-dir DIR]

Writes ``<DIR>/si-std1-<hash>.pt`` (fp16 weights, exact scales; DIR defaults to the package's
weights folder, replacing the shipped file) and prints its path.
"""

from __future__ import annotations

from pathlib import Path

import torch

from pipeline.codec.family import STANDARD
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
    (name,) = {STANDARD.weights_of_model(model_id) for model_id in STANDARD.model_ids()}
    print(export_standard_net(net, name, args.out_dir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
