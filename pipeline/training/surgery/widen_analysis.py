"""Give a trained checkpoint a wider camera-side analysis transform g_a, starting where it was.

The camera's g_a is small on purpose (it runs on a capture device's CPU), and it is one of the
caps on the top qualities: optimising a frame's latent directly through the fixed synthesis,
rate included, gains about 1 dB at karlsruhe's top quality (docs/models.md). This widens g_a's
two hidden layers from ``n_a`` to more channels so that training (the camera side alone,
``--codec-only --encoder-only``, or the whole codec) can go on from everything the model knows:

    python -m pipeline.training.surgery.widen runs/a/checkpoint.pt runs/b/checkpoint.pt --n-a 96

- the new hidden channels get the weights a fresh g_a of that width would have (random
  convolution rows, GDN at its initial ``beta`` and ``gamma``);
- GDN couples channels only through ``gamma``: the blocks linking old and new channels are zero,
  so the old channels' normalisation is what it was;
- every convolution reading a hidden layer gets zero weights from its new channels.

So the widened transform computes exactly what the old one did (the new channels feed nothing
yet), and the zero weights out of the new channels receive gradients from the first step.
"""

from __future__ import annotations

import torch
from torch import Tensor

from pipeline.codec.model.layers import analysis_transform

#: g_a's layers as (convolution, GDN after it); the last convolution (g_a.5) has no GDN.
_HIDDEN = (("g_a.1", "g_a.2"), ("g_a.3", "g_a.4"))
_OUTPUT = "g_a.5"


def widen_analysis_state(model: dict[str, Tensor], n_a: int, seed: int = 0) -> dict[str, Tensor]:
    """A copy of the model state ``model`` whose g_a hidden layers have ``n_a`` channels."""
    old = model["g_a.1.weight"].shape[0]
    if n_a <= old:
        raise ValueError(f"n_a={n_a} must exceed the checkpoint's {old} analysis channels")
    m = model[f"{_OUTPUT}.weight"].shape[0]
    with torch.random.fork_rng():  # seeded, without touching the caller's random state
        torch.manual_seed(seed)
        fresh = {f"g_a.{k}": v for k, v in analysis_transform(n_a, m).state_dict().items()}
    out = dict(model)
    for conv, gdn in _HIDDEN:
        inputs = None if conv == _HIDDEN[0][0] else old  # the first reads the image
        weight, bias = f"{conv}.weight", f"{conv}.bias"
        out[weight] = _embed(model[weight], fresh[weight], old, inputs)
        out[bias] = _embed(model[bias], fresh[bias], old)
        out[f"{gdn}.beta"] = _embed(model[f"{gdn}.beta"], fresh[f"{gdn}.beta"], old)
        zero = fresh[f"{gdn}.gamma"][0, 1].item()  # an off-diagonal entry: 0 once reparametrised
        out[f"{gdn}.gamma"] = _embed(model[f"{gdn}.gamma"], fresh[f"{gdn}.gamma"], old, old, zero)
    weight = model[f"{_OUTPUT}.weight"]
    out[f"{_OUTPUT}.weight"] = torch.cat(
        [weight, weight.new_zeros(m, n_a - old, *weight.shape[2:])], dim=1
    )
    return out


def _embed(
    old: Tensor, new: Tensor, rows: int, cols: int | None = None, zero: float = 0.0
) -> Tensor:
    """``new`` with ``old`` in its first ``rows`` (and, if given, first ``cols`` columns).

    With ``cols``, the old rows' new columns are set to ``zero``: old outputs read nothing
    from new inputs. The new rows keep ``new``'s values.
    """
    out = new.clone().to(old.dtype)
    if cols is None:
        out[:rows] = old
    else:
        out[:rows, :cols] = old
        out[:rows, cols:] = zero
    return out
