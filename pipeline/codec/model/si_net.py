"""SI-Net: fuse the decoded image X_dec with the synthesised side information Y_syn.

Ayzik and Avidan (ECCV 2020), §3.3: a stack of dilated 3x3 convolutions over the
concatenation [X_dec, Y_syn] whose receptive field grows exponentially, predicting a residual
that is added to X_dec, so that an untrained or unhelpful SI-Net starts at X_hat = X_dec.

Our addition: a per-quality-level scale of that residual (``level_scale``, a buffer, 1 by
default), calibrated after training on real pairs
(:mod:`pipeline.training.surgery.calibrate`), so that at a level where the fusion does not help
on real images the decoder stays near X_dec.

Also ours: a *guided* SI-Net (``guided=True``) sees two more input planes, the SI-Finder's
match confidence (the Pearson correlation of the block copied at each pixel) and the quality
level (q / (levels - 1), constant over the image), so that it can trust Y_syn where the match
was good and weigh it by how much X_dec already knows. Their input weights start at zero
(:mod:`pipeline.training.surgery.guide`), so a guided net starts as the unguided one it came from.

A net may also be told constant *conditions* (``conditions=K``: K more input planes, one value
per image each): the standard-codec SI-Net (:mod:`pipeline.codec.model.si_standard`) is told which
codec made X_dec as a one-hot vector.

And a *self-ensemble* at decode time (``ensemble`` 2, 4 or 8): the residual averaged over that
many flips and transposes of the inputs (X_dec, Y_syn and confidence transformed together, so
they stay aligned), which helps where the net has learned its training scenes too well.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pipeline.codec.model.fused import FusedBody, fused_available
from pipeline.codec.model.layers import conv

DEFAULT_DILATIONS = (1, 2, 4, 8, 16, 1)
#: Input planes: X_dec and Y_syn (RGB each), plus confidence and level when guided.
PLAIN_INPUTS, GUIDED_INPUTS = 6, 8


def _transpose(t: Tensor) -> Tensor:
    return t.transpose(-1, -2)


def _vflip(t: Tensor) -> Tensor:
    return t.flip(-2)


def _hflip(t: Tensor) -> Tensor:
    return t.flip(-1)


#: The eight symmetries of the pixel grid as sequences of steps, identity first; undoing one
#: applies its steps in reverse (each step is its own inverse).
SYMMETRIES: tuple[tuple[Callable[[Tensor], Tensor], ...], ...] = (
    (),
    (_vflip,),
    (_hflip,),
    (_vflip, _hflip),
    (_transpose,),
    (_transpose, _hflip),
    (_transpose, _vflip),
    (_transpose, _vflip, _hflip),
)
ENSEMBLE_SIZES = (1, 2, 4, 8)


def _apply(steps: tuple[Callable[[Tensor], Tensor], ...], t: Tensor) -> Tensor:
    for step in steps:
        t = step(t)
    return t


class SINet(nn.Module):
    """The dilated-convolution fusion network (the paper's baseline SI-Net), optionally guided."""

    def __init__(
        self,
        width: int = 32,
        dilations: tuple[int, ...] = DEFAULT_DILATIONS,
        levels: int = 1,
        guided: bool = False,
        conditions: int = 0,
        shuffle: int = 1,
    ) -> None:
        super().__init__()
        self.guided = guided
        self.conditions = conditions
        self.shuffle = shuffle
        self.register_buffer("level_scale", torch.ones(levels))
        inputs = ((GUIDED_INPUTS if guided else PLAIN_INPUTS) + conditions) * shuffle**2
        layers: list[nn.Module] = [conv(inputs, width, 3, dilation=dilations[0]), nn.LeakyReLU(0.2)]
        for dilation in dilations[1:]:
            layers += [conv(width, width, 3, dilation=dilation), nn.LeakyReLU(0.2)]
        layers.append(conv(width, 3 * shuffle**2, 3))
        self.body = nn.Sequential(*layers)
        for layer in self.body[:-1]:
            if isinstance(layer, nn.Conv2d):  # He init, so a deep net starts with live signals
                nn.init.kaiming_normal_(layer.weight, a=0.2, nonlinearity="leaky_relu")
                nn.init.zeros_(layer.bias)
        nn.init.zeros_(self.body[-1].weight)
        nn.init.zeros_(self.body[-1].bias)
        self.fused: FusedBody | None = None
        """The body for CPU inference (:meth:`fuse`; None: the eager body)."""

    def fuse(self, dtype: torch.dtype) -> None:
        """Run the body for CPU inference as fused oneDNN calls in ``dtype``, with a copy of
        its current weights (:mod:`pipeline.codec.model.fused`); nothing where this torch
        lacks them. For a decoder's net: the copy does not follow later weight changes."""
        self.fused = FusedBody(self.body, dtype) if fused_available() else None

    def forward(
        self,
        x_dec: Tensor,
        y_syn: Tensor,
        level: Tensor | None = None,
        confidence: Tensor | None = None,
        scaled: bool = True,
        ensemble: int = 1,
        condition: Tensor | None = None,
    ) -> Tensor:
        """X_hat = X_dec + s_q * f([X_dec, Y_syn, (confidence, level), (conditions)]), images
        (B, 3, H, W); ``condition`` (B, K) when the net has K conditions.

        ``level`` (B,) gives each item's zero-based quality level q and so its residual scale
        s_q (``scaled=False``, or no level: s = 1, as in training, where the scales are not
        learned). A guided net needs ``level`` and ``confidence`` (B, 1, H, W). ``ensemble``
        (1, 2, 4 or 8): the residual averaged over the first that many :data:`SYMMETRIES`.
        """
        inputs = self._inputs(x_dec, y_syn, level, confidence)
        if self.conditions:
            if condition is None or condition.shape != (x_dec.shape[0], self.conditions):
                raise ValueError(f"this SI-Net needs a (B, {self.conditions}) condition")
            planes = condition.to(inputs.dtype)[:, :, None, None]
            inputs = torch.cat([inputs, planes.expand(-1, -1, *inputs.shape[-2:])], dim=1)
        residual = self._residual(inputs, ensemble)
        if level is not None and scaled:
            residual = residual * self.level_scale[level].to(residual.dtype)[:, None, None, None]
        return x_dec + residual

    def _residual(self, inputs: Tensor, ensemble: int) -> Tensor:
        if ensemble not in ENSEMBLE_SIZES:
            raise ValueError(f"ensemble must be one of {ENSEMBLE_SIZES}, not {ensemble!r}")
        if ensemble == 1:
            return self._body(inputs)
        outputs = [
            _apply(steps[::-1], self._body(_apply(steps, inputs)))
            for steps in SYMMETRIES[:ensemble]
        ]
        return torch.stack(outputs).mean(0)

    def _body(self, inputs: Tensor) -> Tensor:
        """The convolutions, at 1 / ``shuffle`` of the resolution when ``shuffle`` > 1: the
        planes are pixel-unshuffled (lossless: every pixel becomes a channel), so the same
        operations buy ``shuffle``² times the channels and ``shuffle`` times the reach."""
        s = self.shuffle
        if self.body[0].weight.is_contiguous(memory_format=torch.channels_last):
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        if s == 1:
            return self._run_body(inputs)
        height, width = inputs.shape[-2:]
        padded = F.pad(inputs, (0, -width % s, 0, -height % s), mode="replicate")
        out = F.pixel_shuffle(self._run_body(F.pixel_unshuffle(padded, s)), s)
        return out[..., :height, :width]

    def _run_body(self, inputs: Tensor) -> Tensor:
        fused = self.fused is not None and inputs.device.type == "cpu"
        if fused and not torch.is_grad_enabled() and torch.backends.mkldnn.enabled:
            return self.fused(inputs)
        return self.body(inputs)

    def _inputs(
        self, x_dec: Tensor, y_syn: Tensor, level: Tensor | None, confidence: Tensor | None
    ) -> Tensor:
        if not self.guided:
            return torch.cat([x_dec, y_syn], dim=1)
        if level is None or confidence is None:
            raise ValueError("a guided SI-Net needs the quality level and the match confidence")
        top = max(self.level_scale.numel() - 1, 1)
        plane = (level.to(x_dec.dtype) / top)[:, None, None, None].expand_as(confidence)
        return torch.cat([x_dec, y_syn, confidence.to(x_dec.dtype), plane], dim=1)
