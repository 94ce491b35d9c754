"""Turn a checkpoint's SI-Net into a guided one (match confidence and level as inputs).

    python -m pipeline.training.surgery.guide runs/a/checkpoint.pt runs/b/checkpoint.pt

The first convolution of the SI-Net gets two more input planes (:mod:`pipeline.codec.model.si_net`)
with zero weights, so the guided net computes exactly what the plain one did until training
moves them; the per-level residual scales go back to 1, to be calibrated again after training
(:mod:`pipeline.training.surgery.calibrate`). ``source`` may also be a shipped weights file
(``pipeline/weights/*.pt``), whose fp16 tensors are read as float32.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from pipeline.codec.model.registry import float_state
from pipeline.codec.model.si_net import GUIDED_INPUTS, PLAIN_INPUTS
from pipeline.help_text import command_parser
from pipeline.training.surgery.derive import save_derived
from pipeline.training.surgery.graft import LEVEL_SCALE

FIRST = "si_net.body.0.weight"


def guide_state(model: dict[str, Tensor]) -> dict[str, Tensor]:
    """A copy of the model state ``model`` with a guided SI-Net and unit level scales."""
    first = model[FIRST]
    if first.shape[1] != PLAIN_INPUTS:
        raise ValueError(f"{FIRST}: expected {PLAIN_INPUTS} input planes, found {first.shape[1]}")
    extra = first.new_zeros(first.shape[0], GUIDED_INPUTS - PLAIN_INPUTS, *first.shape[2:])
    out = dict(model)
    out[FIRST] = torch.cat([first, extra], dim=1)
    out[LEVEL_SCALE] = torch.ones_like(model[LEVEL_SCALE])
    return out


def _read(source: Path) -> dict:
    """A training checkpoint, or a shipped weights file as one (step 0, float32 tensors)."""
    state = torch.load(source, map_location="cpu", weights_only=False)
    if "model" in state:
        return state
    return {"model": float_state(state["state_dict"]), "step": 0, "seconds": 0.0}


def guide_checkpoint(source: Path, target: Path) -> None:
    """Write ``target``: ``source`` with a guided SI-Net."""
    state = _read(source)
    save_derived(state, guide_state(state["model"]), target, guided_from=str(source))


def main(argv: list[str] | None = None) -> int:
    """Command line: make a checkpoint's SI-Net a guided one."""
    parser = command_parser("python -m pipeline.training.surgery.guide", __doc__)
    parser.add_argument(
        "source", type=Path, help="checkpoint (or shipped weights file) whose SI-Net to guide"
    )
    parser.add_argument("target", type=Path, help="checkpoint to write")
    args = parser.parse_args(argv)
    guide_checkpoint(args.source, args.target)
    print(f"{args.target}: SI-Net guided (confidence and level inputs, scales reset to 1)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
