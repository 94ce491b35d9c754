"""Write a checkpoint derived from another by a tool (relevel, graft, widen, guide).

A derived checkpoint keeps its source's step, seconds and training config, carries the new
model state and a note of where it came from, and has no optimiser state: the next run starts
its optimisers afresh (:meth:`pipeline.training.loop.trainer.Trainer.resume` allows for that).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

_KEPT = ("step", "seconds", "config")


def save_derived(
    source: dict[str, Any], model: dict[str, Tensor], target: Path, **provenance: Any
) -> None:
    """Save ``model`` to ``target`` with ``source``'s step, seconds and config."""
    kept = {k: source[k] for k in _KEPT if k in source}
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save({**kept, "model": model, **provenance}, target)
