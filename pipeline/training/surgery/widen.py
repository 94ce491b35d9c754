"""Give a trained checkpoint more latent channels (a wider M) without starting over.

The top qualities of a small codec stop improving when the latent is too narrow to carry more
detail (decoding the unquantised latent is then no better than the quantised one). This adds
``extra`` latent channels to a checkpoint so that training can continue from everything the
model already knows:

    python -m pipeline.training.surgery.widen runs/a/checkpoint.pt runs/b/checkpoint.pt --m 128

(``--n-a 96`` widens the camera's analysis transform instead, or as well:
:mod:`pipeline.training.surgery.widen_analysis`.)

- g_a's last convolution gets new output rows of zeros, so the new latents start at 0 and the
  widened model decodes exactly what the old one did;
- g_s's first (transposed) convolution gets new input rows, small and random: through them
  (and the straight-through rounding) the zero rows of g_a receive gradients from the first
  step, each towards its own direction;
- h_a ignores the new channels (zero input weights), so the hyper-latent ``z`` is unchanged;
- h_s predicts mean 0 and a fixed scale for them (zero weights, a bias on its grid);
- the gain unit gives them, at each level, the median gain of the old channels.

Everything else is copied. The checkpoint keeps its step and has no optimiser state (the next
run starts its optimisers afresh, as after :mod:`pipeline.training.surgery.levels`).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from pipeline.help_text import command_parser
from pipeline.training.surgery.derive import save_derived
from pipeline.training.surgery.widen_analysis import widen_analysis_state

#: Initial scale predicted for the new channels (h_s bias of their scale outputs): small, so
#: that their zeros cost about 0.07 bits each, yet wide enough for gradients to move them.
NEW_SCALE = 0.25
#: The new g_s input rows start at this fraction of the existing rows' spread.
SYNTHESIS_INIT = 0.1
#: Tensors holding latent channels, and the dimension along which they do.
_CHANNEL_DIMS = {
    "g_a.5.weight": 0,
    "g_a.5.bias": 0,
    "g_s.0.weight": 0,
    "h_a.0.weight": 1,
    "gain.gain": 1,
    "gain.inverse": 1,
}


def _rows_like(rows: Tensor, count: int, factor: float, generator: torch.Generator) -> Tensor:
    """``count`` random rows with ``factor`` times the standard deviation of ``rows``."""
    shape = (count, *rows.shape[1:])
    noise = torch.randn(shape, generator=generator, dtype=torch.float32)
    return (noise * rows.float().std() * factor).to(rows.dtype)


def widen_state(model: dict[str, Tensor], m: int, seed: int = 0) -> dict[str, Tensor]:
    """A copy of the model state ``model`` with ``m`` latent channels (more than it has)."""
    old = model["g_a.5.weight"].shape[0]
    if m <= old:
        raise ValueError(f"m={m} must exceed the checkpoint's {old} latent channels")
    extra = m - old
    generator = torch.Generator().manual_seed(seed)
    out = dict(model)
    g_a = model["g_a.5.weight"]
    out["g_a.5.weight"] = torch.cat([g_a, g_a.new_zeros(extra, *g_a.shape[1:])])
    out["g_a.5.bias"] = torch.cat([model["g_a.5.bias"], model["g_a.5.bias"].new_zeros(extra)])
    g_s = model["g_s.0.weight"]  # ConvTranspose2d: (in = M, out, k, k)
    out["g_s.0.weight"] = torch.cat([g_s, _rows_like(g_s, extra, SYNTHESIS_INIT, generator)])
    h_a = model["h_a.0.weight"]  # (nz, M, k, k)
    out["h_a.0.weight"] = torch.cat([h_a, h_a.new_zeros(h_a.shape[0], extra, *h_a.shape[2:])], 1)
    out["h_s.head.weight"], out["h_s.head.bias"] = _widen_head(
        model["h_s.head.weight"], model["h_s.head.bias"], extra
    )
    for key in ("gain.gain", "gain.inverse"):
        gains = model[key]
        median = gains.abs().median(dim=1, keepdim=True).values
        out[key] = torch.cat([gains, median.expand(-1, extra)], dim=1)
    return out


def _widen_head(weight: Tensor, bias: Tensor, extra: int) -> tuple[Tensor, Tensor]:
    """h_s's 1x1 head, (2M, n) means then scales, with ``extra`` more of each."""
    means_w, scales_w = weight.chunk(2)
    means_b, scales_b = bias.chunk(2)
    zeros_w = weight.new_zeros(extra, *weight.shape[1:])
    new_weight = torch.cat([means_w, zeros_w, scales_w, zeros_w])
    new_scales = bias.new_full((extra,), NEW_SCALE)
    new_bias = torch.cat([means_b, bias.new_zeros(extra), scales_b, new_scales])
    return new_weight, new_bias


def train_new_channels_only(model: nn.Module, first: int) -> None:
    """Freeze every weight of ``model`` but those of latent channels ``first`` and up.

    Existing channels keep their weights exactly (their gradients are zeroed, and Adam moves
    nothing whose gradients were always zero), so the new channels learn to add detail while
    what the model already does stays put; only ``z`` can move, through h_a's new inputs.
    """
    params = dict(model.named_parameters())
    for param in params.values():
        param.requires_grad_(False)
    m = params["g_a.5.weight"].shape[0]
    masks = {name: _channel_mask(params[name], dim, first) for name, dim in _CHANNEL_DIMS.items()}
    head = torch.zeros(2 * m, dtype=torch.bool)
    head[first:m] = head[m + first :] = True
    masks["h_s.head.weight"] = head[:, None, None, None].expand_as(params["h_s.head.weight"])
    masks["h_s.head.bias"] = head
    for name, mask in masks.items():
        param = params[name]
        param.requires_grad_(True)
        keep = mask.to(param.device, param.dtype)
        param.register_hook(lambda grad, keep=keep: grad * keep)


def _channel_mask(param: Tensor, dim: int, first: int) -> Tensor:
    """True where ``param`` belongs to channels ``first`` and up along ``dim``."""
    index = torch.arange(param.shape[dim]) >= first
    shape = [1] * param.dim()
    shape[dim] = -1
    return index.view(shape).expand_as(param)


def widen_checkpoint(
    source: Path, target: Path, m: int | None = None, n_a: int | None = None, seed: int = 0
) -> None:
    """Write ``target``: the checkpoint ``source`` with ``m`` latent channels and/or g_a's
    hidden layers ``n_a`` wide (:mod:`pipeline.training.surgery.widen_analysis`)."""
    if m is None and n_a is None:
        raise ValueError("give m (latent channels) and/or n_a (analysis width)")
    state = torch.load(source, map_location="cpu", weights_only=False)
    model = state["model"]
    if m is not None:
        model = widen_state(model, m, seed)
    if n_a is not None:
        model = widen_analysis_state(model, n_a, seed)
    save_derived(state, model, target, widened_from=str(source))


def main(argv: list[str] | None = None) -> int:
    """Command line: widen a checkpoint's latent and/or its camera-side analysis transform."""
    parser = command_parser("python -m pipeline.training.surgery.widen", __doc__)
    parser.add_argument("source", type=Path, help="training checkpoint to widen")
    parser.add_argument("target", type=Path, help="checkpoint to write")
    parser.add_argument("--m", type=int, default=None, help="latent channels wanted")
    parser.add_argument("--n-a", type=int, default=None, help="g_a hidden channels wanted")
    parser.add_argument("--seed", type=int, default=0, help="seed of the new weights' draw")
    args = parser.parse_args(argv)
    if args.m is None and args.n_a is None:
        parser.error("give --m and/or --n-a")
    widen_checkpoint(args.source, args.target, args.m, args.n_a, args.seed)
    print(f"{args.target}: widened (m={args.m}, n_a={args.n_a})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
