"""The training loop: joint DSIN loss, resumable checkpoints, a wall-clock budget, a log."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import Tensor

from pipeline.codec.model.dsin import DsinCodec
from pipeline.training.loop.loss import codec_loss, joint_loss, si_loss
from pipeline.training.loop.modes import check_modes, set_trainable


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one run (recorded in the checkpoint and in docs/models.md)."""

    out_dir: str = "runs/dsin-s1"
    minutes: float = 10.0
    max_steps: int = 0
    lr: float = 1e-4
    si_lr: float = 1e-3
    aux_lr: float = 1e-3
    #: Share of the wall-clock budget, at its end, run at a tenth of the learning rates.
    lr_drop_last: float = 0.0
    alpha: float = 0.5
    freeze_codec: bool = False
    #: Train the codec alone on its own loss (SI-Net frozen, no SI-Finder): the fast stage.
    codec_only: bool = False
    #: With ``freeze_codec``: "rd" trains the SI-Net on the joint loss (lambda-weighted MSE),
    #: "psnr" on :func:`~pipeline.training.loop.loss.si_loss` (every level's dB alike).
    si_objective: str = "rd"
    #: Zero-based levels to draw (both views); empty: all of the model's levels.
    levels: tuple[int, ...] = ()
    #: With ``codec_only``: train only the gain vectors (of ``levels``), every other weight
    #: fixed; how new levels are fitted without moving the existing ones.
    gains_only: bool = False
    #: With ``codec_only``: train only latent channels from this index on (the ones added by
    #: :mod:`pipeline.training.surgery.widen`), every existing weight fixed; 0: off.
    new_channels_from: int = 0
    #: With ``codec_only``: train only the camera side (g_a, h_a and the gain vectors applied
    #: before quantisation), every decoder weight fixed, so the decoder (its synthesis,
    #: entropy models and SI-Net) and every bitstream it reads stay valid.
    encoder_only: bool = False
    device: str = "cpu"
    amp: bool = False
    log_every: int = 20
    checkpoint_every: int = 200
    seed: int = 0


class Trainer:
    """Owns the model, its two optimisers (main and quantile/aux) and the run directory."""

    def __init__(self, model: DsinCodec, config: TrainConfig) -> None:
        self.config = config
        self.device = torch.device(config.device)
        self.model = model.to(self.device).train()
        params = dict(model.named_parameters())
        aux = [p for n, p in params.items() if n.endswith(".quantiles")]
        fusion = [p for n, p in params.items() if n.startswith("si_net.")]
        codec = [
            p
            for n, p in params.items()
            if not n.endswith(".quantiles") and not n.startswith("si_net.")
        ]
        # The SI-Net starts as the identity (zero last layer) and would learn too slowly at
        # the codec's rate: it gets its own, higher one.
        self.optimizer = torch.optim.Adam(
            [{"params": codec, "lr": config.lr}, {"params": fusion, "lr": config.si_lr}]
        )
        self.aux_optimizer = torch.optim.Adam(aux, lr=config.aux_lr)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed crop size: pick the fastest kernels
        check_modes(config)
        set_trainable(model, config)
        if any(not 0 <= level < model.config.levels for level in config.levels):
            raise ValueError(f"levels {config.levels} outside 0..{model.config.levels - 1}")
        # The entropy bottleneck's quantiles (aux loss) train only when a mode left them free.
        self._train_aux = any(p.requires_grad for p in aux)
        self.step_count = 0
        self.seconds = 0.0
        self.out = Path(config.out_dir)
        self.generator = torch.Generator().manual_seed(config.seed)

    @property
    def checkpoint_path(self) -> Path:
        """Where the latest checkpoint of this run lives."""
        return self.out / "checkpoint.pt"

    def resume(self) -> bool:
        """Load the latest checkpoint if there is one; True when resumed."""
        if not self.checkpoint_path.exists():
            return False
        state = torch.load(self.checkpoint_path, map_location=self.device, weights_only=False)
        self.model.load_state_dict(state["model"], strict=False)
        try:
            self.optimizer.load_state_dict(state["optimizer"])
            self.aux_optimizer.load_state_dict(state["aux_optimizer"])
        except (KeyError, ValueError):  # none saved (a relevelled checkpoint), or other layout
            print("resuming with fresh optimizer state", file=sys.stderr)
        self._set_lr(1.0)  # this run's learning rates, not the ones saved with the state
        self.step_count, self.seconds = state["step"], state["seconds"]
        return True

    def save(self) -> None:
        """Write the checkpoint atomically."""
        self.out.mkdir(parents=True, exist_ok=True)
        tmp = self.checkpoint_path.with_suffix(".tmp")
        torch.save(
            {
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "aux_optimizer": self.aux_optimizer.state_dict(),
                "step": self.step_count,
                "seconds": self.seconds,
                "config": asdict(self.config),
            },
            tmp,
        )
        tmp.replace(self.checkpoint_path)

    def step(self, left: Tensor, right: Tensor) -> dict[str, float]:
        """One optimisation step on a batch of pairs; each view at a random quality level."""
        left, right = left.to(self.device), right.to(self.device)
        levels, side_levels = self._draw_levels(left.shape[0]).to(self.device)
        with torch.autocast(self.device.type, torch.bfloat16, enabled=self.config.amp):
            if self.config.codec_only:
                terms = codec_loss(self.model, left, right, levels, side_levels)
            elif self.config.si_objective == "psnr":
                terms = si_loss(self.model, left, right, levels, side_levels)
            else:
                terms = joint_loss(
                    self.model, left, right, levels, self.config.alpha, side_levels=side_levels
                )
        self.optimizer.zero_grad(set_to_none=True)
        terms.loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        aux_loss = self.model.aux_loss()
        if self._train_aux:
            self.aux_optimizer.zero_grad(set_to_none=True)
            aux_loss.backward()
            self.aux_optimizer.step()
        self.step_count += 1
        return {**terms.as_dict(), "aux": float(aux_loss.detach())}

    def _draw_levels(self, batch: int) -> Tensor:
        """(2, batch) level indices for the two views, from ``config.levels`` if given."""
        choices = self.config.levels or tuple(range(self.model.config.levels))
        picks = torch.randint(0, len(choices), (2, batch), generator=self.generator)
        return torch.tensor(choices)[picks]

    def run(self, batches: Iterator[tuple[Tensor, Tensor]]) -> None:
        """Train until the step limit or the wall-clock budget; log and checkpoint."""
        deadline = time.monotonic() + 60 * self.config.minutes
        drop_at = deadline - 60 * self.config.minutes * self.config.lr_drop_last
        self.out.mkdir(parents=True, exist_ok=True)
        log = (self.out / "log.jsonl").open("a")
        window: list[dict[str, float]] = []
        try:
            while time.monotonic() < deadline and not self._done():
                start = time.monotonic()
                if self.config.lr_drop_last and start >= drop_at:
                    self._set_lr(0.1)
                window.append(self.step(*next(batches)))
                self.seconds += time.monotonic() - start
                if self.step_count % self.config.log_every == 0:
                    self._log(log, window)
                    window = []
                if self.step_count % self.config.checkpoint_every == 0:
                    self.save()
        finally:
            self.save()
            log.close()

    def _set_lr(self, factor: float) -> None:
        """The configured learning rates times ``factor`` (main groups: codec, SI-Net)."""
        for group, lr in zip(
            self.optimizer.param_groups, (self.config.lr, self.config.si_lr), strict=True
        ):
            group["lr"] = lr * factor

    def _done(self) -> bool:
        return 0 < self.config.max_steps <= self.step_count

    def _log(self, log, window: list[dict[str, float]]) -> None:
        mean = {k: sum(w[k] for w in window) / len(window) for k in window[0]}
        record = {"step": self.step_count, "seconds": round(self.seconds, 1), **mean}
        log.write(json.dumps(record) + "\n")
        log.flush()
        line = " ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in record.items()
        )
        print(f"\r{line}", file=sys.stderr, flush=True)
