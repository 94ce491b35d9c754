"""Train the standard-codec SI-Net on prepared crops (:mod:`.prepare`), on the CPU.

    python -m pipeline.training.standard.train --data runs/si-std/data --out runs/si-std/run \\
        --minutes 60 --init-from-dsin
    python -m pipeline.training.standard.train --data runs/si-std2/data --out runs/si-std2/run \\
        --minutes 40 --init-from pipeline/weights/si-std2-<hash>.pt

A new run starts from dsin-s1's SI-Net (``--init-from-dsin``, the image codecs), from a weights
file (``--init-from``: its architecture, codecs and weights, its ``codec_scale`` reset to 1) or
from scratch.

The objective is the mean dB gain of X_hat over X_dec (``--si-objective psnr`` of the DSIN
trainer): every codec and quality counts alike, as BD-rate on PSNR counts them. Each batch item
is a random ``--crop`` window of a stored crop under one of the eight flips and transposes
(X, X_dec, Y_syn and the confidence together, so they stay aligned). The run checkpoints to
``OUT/checkpoint.pt`` (model, optimiser, step, seconds) and resumes from it when started again;
``--lr-drop-last F`` runs the last share F of the time budget at a tenth of the rate.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from pipeline.codec.model.registry import load
from pipeline.codec.model.si_net import SYMMETRIES
from pipeline.codec.model.si_standard import StandardSIConfig, StandardSINet, load_standard_file
from pipeline.codec.standard import CODEC_NAMES
from pipeline.help_text import command_parser


class CropBank:
    """Every stored crop in memory (uint8), drawn as random windows under random symmetries.

    ``codecs``: the net's codec inputs; a crop's codec (its file's ``codecs`` table, the image
    codecs' for files without one) becomes its index there, and files of other codecs are
    skipped."""

    def __init__(self, folder: Path, crop: int, codecs: tuple[str, ...] = CODEC_NAMES) -> None:
        stacks, indexes, qualities = [], [], []
        for path in sorted(folder.glob("*.npz")):
            if path.name.endswith(".part.npz"):
                continue
            with np.load(path) as data:
                names = data["codecs"].tolist() if "codecs" in data else list(CODEC_NAMES)
                if min(data["stack"].shape[-2:]) < crop or not set(names) <= set(codecs):
                    continue
                stacks += [torch.from_numpy(s) for s in data["stack"]]
                indexes += [codecs.index(names[i]) for i in data["codec"].tolist()]
                qualities += data["quality"].tolist()
        if not stacks:
            raise FileNotFoundError(f"{folder}: no prepared crops of at least {crop} pixels")
        self.stacks, self.crop = stacks, crop
        self.codecs, self.qualities = torch.tensor(indexes), torch.tensor(qualities)

    def __len__(self) -> int:
        return len(self.stacks)

    def batch(self, size: int, generator: torch.Generator) -> dict[str, Tensor]:
        """``size`` random items: x, x_dec, y_syn (B, 3, c, c), confidence (B, 1, c, c) in
        [-1, 1], codec and quality (B,)."""
        picks = torch.randint(0, len(self), (size,), generator=generator).tolist()
        windows = [self._window(i, generator) for i in picks]
        stack = torch.stack(windows).float() / 255.0
        return {
            "x": stack[:, 0:3],
            "x_dec": stack[:, 3:6],
            "y_syn": stack[:, 6:9],
            "confidence": stack[:, 9:10] * 2 - 1,
            "codec": self.codecs[picks],
            "quality": self.qualities[picks],
        }

    def _window(self, index: int, generator: torch.Generator) -> Tensor:
        stack, c = self.stacks[index], self.crop
        top = int(torch.randint(0, stack.shape[-2] - c + 1, (), generator=generator))
        left = int(torch.randint(0, stack.shape[-1] - c + 1, (), generator=generator))
        window = stack[:, top : top + c, left : left + c]
        for step in SYMMETRIES[int(torch.randint(0, len(SYMMETRIES), (), generator=generator))]:
            window = step(window)
        return window


#: Added to both errors of :func:`gain_db` (a PSNR of 50 dB): a crop the codec reproduced
#: almost exactly (a flat patch at a high quality) must not outweigh the batch (a lossless one
#: made one item's "gain" -55 dB and its gradient everything).
GAIN_FLOOR_MSE = 1e-5


def gain_db(x: Tensor, x_dec: Tensor, x_hat: Tensor) -> Tensor:
    """Per item, 10 log10(MSE(X, X_dec) / MSE(X, X_hat)), both errors plus
    :data:`GAIN_FLOOR_MSE`: the dB X_hat gains over X_dec."""
    before = (x - x_dec).pow(2).flatten(1).mean(1) + GAIN_FLOOR_MSE
    after = (x - x_hat).pow(2).flatten(1).mean(1) + GAIN_FLOOR_MSE
    return 10 * torch.log10(before / after)


def step(model: StandardSINet, optimizer: torch.optim.Optimizer, batch: dict) -> Tensor:
    """One optimisation step on the negative mean gain; returns the per-item gains."""
    device = next(model.parameters()).device
    batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
    x_hat = model(
        batch["x_dec"],
        batch["y_syn"],
        batch["confidence"],
        batch["codec"],
        batch["quality"],
        scaled=False,
    )
    gains = gain_db(batch["x"], batch["x_dec"], x_hat)
    optimizer.zero_grad(set_to_none=True)
    (-gains.mean()).backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    return gains.detach()


def from_dsin(model: StandardSINet) -> None:
    """Start from the shipped dsin-s1 SI-Net: its weights, the codec planes' at zero."""
    dsin = load().model.si_net.state_dict()
    own = model.net.state_dict()
    for name, value in dsin.items():
        if name == "level_scale" or own[name].shape == value.shape:
            if name != "level_scale":
                own[name] = value.clone()
            continue
        own[name].zero_()
        own[name][:, : value.shape[1]] = value
    model.net.load_state_dict(own)


def from_weights(path: Path) -> StandardSINet:
    """A new run's net from a weights file: its config and weights, the residual scales back
    at 1 (training fits the unscaled residual; calibration refits them)."""
    model, _ = load_standard_file(path)
    model.codec_scale.fill_(1.0)
    return model.train()


def _log_line(record: dict) -> str:
    return " ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in record.items()
    )


def train(args: argparse.Namespace) -> None:
    """The loop: resume, step until the budget, log every ``--log-every`` steps, checkpoint."""
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    if args.init_from is not None:
        model = from_weights(args.init_from)
    else:
        model = StandardSINet(StandardSIConfig(width=args.width, shuffle=args.shuffle))
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    checkpoint = args.out / "checkpoint.pt"
    steps, seconds = 0, 0.0
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        model = StandardSINet(StandardSIConfig.from_stored(state["config"]))
        optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        steps, seconds = state["step"], state["seconds"]
    elif args.init_from_dsin:
        from_dsin(model)
    names = model.config.codecs
    bank = CropBank(args.data, args.crop, names)
    model.to(args.device)
    optimizer.load_state_dict(optimizer.state_dict())  # moves its state to the model's device
    print(f"{len(bank)} crops; from step {steps} on {args.device}", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + 60 * args.minutes
    drop_at = deadline - 60 * args.minutes * args.lr_drop_last
    window: list[Tensor] = []
    codecs: list[Tensor] = []
    with (args.out / "log.jsonl").open("a") as log:
        while time.monotonic() < deadline:
            start = time.monotonic()
            for group in optimizer.param_groups:
                group["lr"] = args.lr * (0.1 if start >= drop_at else 1.0)
            batch = bank.batch(args.batch, generator)
            window.append(step(model, optimizer, batch).cpu())
            codecs.append(batch["codec"])
            steps, seconds = steps + 1, seconds + time.monotonic() - start
            if steps % args.log_every == 0:
                gains, which = torch.cat(window), torch.cat(codecs)
                record = {
                    "step": steps,
                    "seconds": round(seconds, 1),
                    "gain_db": float(gains.mean()),
                }
                record |= {
                    f"gain_{name}": float(gains[which == i].mean())
                    for i, name in enumerate(names)
                    if (which == i).any()
                }
                log.write(json.dumps(record) + "\n")
                log.flush()
                print(_log_line(record), file=sys.stderr, flush=True)
                window, codecs = [], []
            if steps % args.checkpoint_every == 0 or time.monotonic() >= deadline:
                _save(checkpoint, model, optimizer, steps, seconds)


def _save(path: Path, model, optimizer, steps: int, seconds: float) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(
        {
            "model": {k: v.cpu() for k, v in model.state_dict().items()},
            "optimizer": optimizer.state_dict(),
            "step": steps,
            "seconds": seconds,
            "config": asdict(model.config),
        },
        tmp,
    )
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    """Command line (module docstring)."""
    parser = command_parser("python -m pipeline.training.standard.train", __doc__)
    parser.add_argument("--data", type=Path, required=True, help="prepared crops (.prepare)")
    parser.add_argument("--out", type=Path, required=True, help="run folder (checkpoint, log)")
    parser.add_argument("--minutes", type=float, default=60.0, help="wall-clock budget")
    parser.add_argument("--batch", type=int, default=8, help="crops per step")
    parser.add_argument("--crop", type=int, default=192, help="side of a training crop, pixels")
    parser.add_argument("--lr", type=float, default=5e-4, help="learning rate")
    parser.add_argument(
        "--lr-drop-last", type=float, default=0.2, help="share of --minutes at a tenth of --lr"
    )
    parser.add_argument("--width", type=int, default=32, help="SI-Net width (a new run only)")
    parser.add_argument(
        "--shuffle", type=int, default=1, help="work at 1/N resolution, N² more channels (new run)"
    )
    parser.add_argument("--init-from-dsin", action="store_true", help="start from dsin-s1's")
    parser.add_argument("--init-from", type=Path, default=None, help="start from this weights file")
    parser.add_argument("--device", default="cpu", help="cpu, or cuda on a GPU machine")
    parser.add_argument("--seed", type=int, default=0, help="seed of the crop order")
    parser.add_argument("--log-every", type=int, default=25, help="steps per log line")
    parser.add_argument(
        "--checkpoint-every", type=int, default=200, help="steps between checkpoints"
    )
    train(parser.parse_args(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
