"""The side-information stage of a decode batch: SI-Finder per pair, SI-Net per group.

Every pair with both views gets Y_syn and the match confidence from the SI-Finder (X_dec
against the decoded right view, whatever codec made either), then an SI-Net pass: a learned
(``dsin``) left view through its model's guided SI-Net, told the level; a standard-codec left
view through the standard-codec SI-Net, told the codec and quality
(:mod:`pipeline.codec.si_standard`); each view through the weights set its container names.
Items are grouped by weights set and image shape so each group is one batched SI-Net call.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from pipeline.codec.si_finder import SIFinderConfig, find_with_confidence
from pipeline.codec.views import Pixels, View

Timer = Callable[[str, Callable[[], object]], object]
"""``timer(stage, work)``: runs ``work`` and adds its seconds to ``stage``."""


def reduced(device: torch.device, dtype: torch.dtype) -> contextlib.AbstractContextManager:
    """Autocast to ``dtype`` on ``device`` when it is not float32 (else nothing)."""
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype)


#: On a CPU, images a network call takes at once: about one 640x480 image's pixels. Larger
#: batches run slower per image there (activations fall out of the cache: the SI-Net took 135
#: against 55 ms a 640x480 pair in batches of 4 on this project's CPU).
CPU_PIXELS_PER_CALL = 1 << 19


def chunked(indexes: list[int], pixels: int, device: torch.device) -> list[list[int]]:
    """``indexes`` in runs one network call should take: all at once on an accelerator, about
    :data:`CPU_PIXELS_PER_CALL` pixels a call on a CPU."""
    if device.type != "cpu":
        return [indexes]
    size = max(1, CPU_PIXELS_PER_CALL // max(1, pixels))
    return [indexes[i : i + size] for i in range(0, len(indexes), size)]


@dataclass
class SideInformation:
    """The searches and nets of one decoder: each view's own weights set (the SI-Net of the
    learned model or standard-codec SI-Net its container names), ``dsin_finder`` (the SI-Finder
    settings of learned views; None: each model's registered ones), the self-ensemble size, the
    device."""

    dsin_finder: SIFinderConfig | None
    ensemble: int
    device: torch.device
    dtype: torch.dtype = torch.float32

    def fuse(
        self,
        alone: list[Tensor | None],
        references: list[Tensor | None],
        views: list[View | None],
        timer: Timer,
    ) -> list[Tensor | None]:
        """X_hat for every item with a left view and a reference; X_dec for the others."""
        fused = list(alone)
        both = [
            i
            for i, (a, r) in enumerate(zip(alone, references, strict=True))
            if a is not None and r is not None
        ]
        found = timer(
            "si_finder",
            lambda: {
                i: find_with_confidence(alone[i], references[i], self._finder(views[i]))
                for i in both
            },
        )
        groups: dict[tuple, list[int]] = defaultdict(list)
        for i in both:  # one SI-Net call per weights set and shape
            groups[(id(views[i].entry), tuple(alone[i].shape))].append(i)
        chunks = [
            part
            for (_, shape), indexes in groups.items()
            for part in chunked(indexes, shape[-2] * shape[-1], self.device)
        ]
        for indexes in chunks:
            x = torch.stack([alone[i] for i in indexes])
            y_syn = torch.stack([found[i][0] for i in indexes])
            confidence = torch.stack([found[i][1] for i in indexes])
            standard = isinstance(views[indexes[0]], Pixels)
            net = self._standard_net if standard else self._dsin_net
            inputs = (indexes, x, y_syn, confidence, views)
            x_hat = timer("si_net", lambda n=net, a=inputs: self._reduced(n, a))
            for i, out in zip(indexes, x_hat, strict=True):
                fused[i] = out
        return fused

    def _reduced(self, net: Callable[..., Tensor], inputs: tuple) -> Tensor:
        with reduced(self.device, self.dtype):
            return net(*inputs).float()

    def _finder(self, view: View | None) -> SIFinderConfig:
        if isinstance(view, Pixels):
            return view.entry.net.config.si_finder
        return self.dsin_finder or view.entry.loaded.spec.config.si_finder

    def _dsin_net(self, indexes, x, y_syn, confidence, views) -> Tensor:
        levels = torch.tensor([views[i].level for i in indexes], device=self.device)
        model = views[indexes[0]].entry.model
        return model.si_net(x, y_syn, levels, confidence, ensemble=self.ensemble)

    def _standard_net(self, indexes, x, y_syn, confidence, views) -> Tensor:
        net = views[indexes[0]].entry.net
        codecs = [net.codec_index(views[i].codec) for i in indexes]
        qualities = [views[i].header.quality for i in indexes]
        return net(
            x,
            y_syn.clamp(0.0, 1.0),
            confidence,
            torch.tensor(codecs, device=self.device),
            torch.tensor(qualities, device=self.device),
            ensemble=self.ensemble,
        )
