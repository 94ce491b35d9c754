"""How many of the left view's bits a better entropy model, or less padding, could save.

Fits :class:`benchmarks.context_model.ChannelContext` (the shipped codec frozen, rate only) on
gained latents of random ``--crop`` crops of the ``--train`` images at random levels (half of
them turned grey, as the evaluation sets mostly are), for ``--minutes`` or ``--steps``. Then,
for the left views of ``--pairs`` at each ``--qualities``, estimates from the models'
probabilities (each rounded to the coder's scale table) the bits per pixel of y under the
shipped hyperprior, the part of them spent on latents that only cover the padding to a
multiple of 64 pixels, the bits of y under the context model, and the bits of z. Prints one
JSON object as its last line and writes it to ``--out`` when given.

    python -m benchmarks.entropy_headroom --minutes 15 --out out/bench/entropy_headroom.json
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from benchmarks.common import DATA, environment, write_report
from benchmarks.context_model import ChannelContext, bits, coded_scales
from pipeline.codec.inputs import read_image
from pipeline.codec.model.dsin import PAD_MULTIPLE, DsinCodec, EntropyParameters
from pipeline.codec.model.registry import load
from pipeline.codec.model.tensors import pad_to, to_tensor
from pipeline.evaluation.images import find_pairs
from pipeline.training.data.datasets import list_images
from pipeline.training.data.feed import make_grey

TRAIN = [DATA / "natural" / s for s in ("kodak", "usc_sipi_misc", "waterloo", "skimage")] + [
    DATA / "stereo" / s / "left" for s in ("euroc_v1_01", "vase", "chessboard_unrectified")
]
PAIRS = [DATA / "stereo" / s for s in ("karlsruhe_0023", "oakd", "middlebury")]
LATENT_STRIDE = 16


def _three_channels(image: np.ndarray) -> Tensor:
    return to_tensor(image[..., :3] if image.ndim == 3 else image)[None]


@torch.no_grad()
def training_latents(
    model: DsinCodec, paths: Sequence[Path], count: int, crop: int, seed: int
) -> tuple[Tensor, Tensor]:
    """Latents ``y`` and ``z`` of ``count`` random crops at random levels, half of them grey."""
    rng = random.Random(seed)
    images = [image for image in map(read_image, paths) if min(image.shape[:2]) >= crop]
    if not images:
        raise ValueError(f"no training image is at least {crop} pixels on each side")
    latents = []
    for _ in range(count):
        image = rng.choice(images)
        top = rng.randrange(image.shape[0] - crop + 1)
        left = rng.randrange(image.shape[1] - crop + 1)
        x = _three_channels(image[top : top + crop, left : left + crop])
        x = make_grey(x, torch.tensor([rng.random() < 0.5]))
        latents.append(model.analyse(x, torch.tensor([rng.randrange(model.config.levels)])))
    y, z = zip(*latents, strict=True)
    return torch.cat(y), torch.cat(z)


def fit(
    context: ChannelContext,
    model: DsinCodec,
    latents: tuple[Tensor, Tensor],
    budget: tuple[float, int],
) -> dict[str, float | int | None]:
    """Adam on the noisy-rate bits, the last fifth of the budget at a tenth of the rate."""
    minutes, max_steps = budget
    y, z = latents
    params = model.entropy_parameters(z)
    optimiser = torch.optim.Adam(context.parameters(), lr=1e-3)
    began, step, loss = time.perf_counter(), 0, None
    while step < max_steps and time.perf_counter() - began < minutes * 60:
        late = time.perf_counter() - began > 0.8 * minutes * 60 or step > 0.8 * max_steps
        optimiser.param_groups[0]["lr"] = 1e-4 if late else 1e-3
        batch = torch.randint(len(y), (32,))
        picked = EntropyParameters(params.means[batch], params.indexes[batch])
        value = context(model, y[batch], picked, True).sum((1, 2, 3)).mean() / y[0, 0].numel()
        optimiser.zero_grad()
        value.backward()
        optimiser.step()
        step, loss = step + 1, value.item()
    return {"steps": step, "seconds": time.perf_counter() - began, "last_bits_per_latent_px": loss}


@torch.no_grad()
def measure(model: DsinCodec, context: ChannelContext, image: np.ndarray, quality: int) -> dict:
    """Estimated bits per pixel of one image at one quality (1 = lowest)."""
    height, width = image.shape[:2]
    x = pad_to(_three_channels(image), PAD_MULTIPLE)
    y, z = model.analyse(x, torch.tensor([quality - 1]))
    params = model.entropy_parameters(z)
    shipped = bits(model, y, coded_scales(model, params.indexes), params.means, False)
    inside = shipped[..., : -(-height // LATENT_STRIDE), : -(-width // LATENT_STRIDE)]
    _, z_likelihoods = model.entropy_bottleneck(model.h_a(y), training=False)
    pixels = height * width
    return {
        "bpp_y_hyperprior": shipped.sum().item() / pixels,
        "bpp_y_padding": (shipped.sum() - inside.sum()).item() / pixels,
        "bpp_y_context": context(model, y, params, False).sum().item() / pixels,
        "bpp_z": -torch.log2(z_likelihoods).sum().item() / pixels,
    }


def evaluate(
    model: DsinCodec,
    context: ChannelContext,
    roots: Sequence[Path],
    limit: int,
    qualities: Sequence[int],
) -> list[dict]:
    """One row per folder and quality: the figures of :func:`measure`, averaged over pairs."""
    rows = []
    for root in roots:
        images = [read_image(pair.left) for pair in find_pairs(root, limit)]
        for quality in qualities:
            figures = [measure(model, context, image, quality) for image in images]
            row = {key: statistics.fmean(f[key] for f in figures) for key in figures[0]}
            total = row["bpp_y_hyperprior"] + row["bpp_z"]
            row["saving_context_pct"] = (
                100 * (row["bpp_y_context"] - row["bpp_y_hyperprior"]) / total
            )
            row["padding_pct"] = 100 * row["bpp_y_padding"] / total
            rows.append({"set": root.name, "quality": quality, "pairs": len(images), **row})
    return rows


def main(argv: list[str] | None = None) -> int:
    """Fit the context model, measure it beside the shipped hyperprior, report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=Path, nargs="+", default=TRAIN, help="image folders")
    parser.add_argument("--pairs", type=Path, nargs="+", default=PAIRS, help="stereo folders")
    parser.add_argument("--limit", type=int, default=10, help="pairs per folder")
    parser.add_argument("--qualities", type=int, nargs="+", default=[1, 4, 7, 9, 11])
    parser.add_argument("--crops", type=int, default=4000)
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--slices", type=int, default=4)
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--steps", type=int, default=10**9, help="stop after this many steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    loaded = load()
    model = loaded.model.float().eval()
    model.requires_grad_(False)
    latents = training_latents(model, list_images(args.train), args.crops, args.crop, args.seed)
    context = ChannelContext(model.config.m, args.slices)
    training = fit(context, model, latents, (args.minutes, args.steps))
    context.eval()
    rows = evaluate(model, context, args.pairs, args.limit, args.qualities)
    paths = ("train", "pairs")
    settings = {k: list(map(str, v)) if k in paths else v for k, v in vars(args).items()}
    report = {"benchmark": "entropy_headroom", "environment": environment()}
    report |= {"weights": loaded.weights_hash, "settings": settings}
    write_report(report | {"training": training, "rows": rows}, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
