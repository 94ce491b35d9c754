"""SI-Net: fuse the decoded image X_dec with the synthesised side information Y_syn.

Ayzik and Avidan (ECCV 2020), §3.3: a stack of dilated 3x3 convolutions over the
concatenation [X_dec, Y_syn] whose receptive field grows exponentially, predicting a residual
that is added to X_dec, so that an untrained or unhelpful SI-Net starts at X_hat = X_dec.

Our addition: a per-quality-level scale of that residual (``level_scale``, a buffer, 1 by
default), calibrated after training on real pairs (:mod:`pipeline.training.calibrate`), so that
at a level where the fusion does not help on real images the decoder stays near X_dec.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from pipeline.codec.layers import conv

DEFAULT_DILATIONS = (1, 2, 4, 8, 16, 1)


class SINet(nn.Module):
    """The dilated-convolution fusion network (the paper's baseline SI-Net)."""

    def __init__(
        self, width: int = 32, dilations: tuple[int, ...] = DEFAULT_DILATIONS, levels: int = 1
    ) -> None:
        super().__init__()
        self.register_buffer("level_scale", torch.ones(levels))
        layers: list[nn.Module] = [conv(6, width, 3, dilation=dilations[0]), nn.LeakyReLU(0.2)]
        for dilation in dilations[1:]:
            layers += [conv(width, width, 3, dilation=dilation), nn.LeakyReLU(0.2)]
        layers.append(conv(width, 3, 3))
        self.body = nn.Sequential(*layers)
        nn.init.zeros_(self.body[-1].weight)
        nn.init.zeros_(self.body[-1].bias)

    def forward(self, x_dec: Tensor, y_syn: Tensor, level: Tensor | None = None) -> Tensor:
        """X_hat = X_dec + s_q * f([X_dec, Y_syn]), both (B, 3, H, W) in [0, 1].

        ``level`` (B,) gives each item's zero-based quality level q and so its residual scale
        s_q; without it s = 1 (training, where the scales are not learned).
        """
        residual = self.body(torch.cat([x_dec, y_syn], dim=1))
        if level is not None:
            residual = residual * self.level_scale[level].to(residual.dtype)[:, None, None, None]
        return x_dec + residual
