"""Put one checkpoint's SI-Net on another checkpoint's codec.

Used when the codec and the SI-Net were trained in different runs, for example the codec
further on a GPU while an SI-Net learned on an earlier state of it:

    python -m pipeline.training.surgery.graft runs/codec/checkpoint.pt runs/si/checkpoint.pt \\
        runs/next/checkpoint.pt

writes a checkpoint whose weights are the codec checkpoint's except every ``si_net.*`` tensor,
taken from the SI checkpoint, with the codec checkpoint's step and no optimiser state (the next
run starts its optimisers afresh, as after :mod:`pipeline.training.surgery.levels`).
"""

from __future__ import annotations

from pathlib import Path

import torch

from pipeline.help_text import command_parser
from pipeline.training.surgery.derive import save_derived

SI_PREFIX = "si_net."
LEVEL_SCALE = "si_net.level_scale"


def graft_si_net(codec: dict, si: dict) -> dict:
    """``codec``'s model state with the SI-Net tensors of ``si`` (both ``state["model"]``)."""
    # The SI-Net's per-level scales follow the codec's levels: kept when the counts differ.
    wanted = [
        k
        for k in codec
        if k.startswith(SI_PREFIX)
        and not (k == LEVEL_SCALE and k in si and si[k].shape != codec[k].shape)
    ]
    if not wanted:
        raise ValueError("the codec checkpoint has no si_net.* weights")
    merged = dict(codec)
    for key in wanted:
        if key not in si:
            raise ValueError(f"{key}: missing from the SI checkpoint")
        got, expected = tuple(si[key].shape), tuple(codec[key].shape)
        if got != expected:
            raise ValueError(f"{key}: shape {got}, expected {expected}")
        merged[key] = si[key]
    extra = sorted(k for k in si if k.startswith(SI_PREFIX) and k not in codec)
    if extra:
        raise ValueError(f"{extra[0]}: in the SI checkpoint but not in the codec's model")
    return merged


def graft_checkpoint(codec: Path, si: Path, target: Path) -> None:
    """Write ``target``: the checkpoint ``codec`` with the SI-Net of checkpoint ``si``."""
    codec_state = torch.load(codec, map_location="cpu", weights_only=False)
    si_state = torch.load(si, map_location="cpu", weights_only=False)
    model = graft_si_net(codec_state["model"], si_state["model"])
    save_derived(codec_state, model, target, si_net_from=str(si))


def main(argv: list[str] | None = None) -> int:
    """Command line: graft an SI-Net onto a codec checkpoint."""
    parser = command_parser("python -m pipeline.training.surgery.graft", __doc__)
    parser.add_argument("codec", type=Path, help="checkpoint whose codec to keep")
    parser.add_argument("si", type=Path, help="checkpoint whose SI-Net to take")
    parser.add_argument("target", type=Path, help="checkpoint to write")
    args = parser.parse_args(argv)
    graft_checkpoint(args.codec, args.si, args.target)
    print(f"{args.target}: codec of {args.codec}, SI-Net of {args.si}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
