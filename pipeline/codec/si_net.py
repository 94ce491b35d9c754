"""SI-Net: fuse the decoded image X_dec with the synthesised side information Y_syn.

Ayzik and Avidan (ECCV 2020), §3.3: a stack of dilated 3x3 convolutions over the
concatenation [X_dec, Y_syn] whose receptive field grows exponentially, predicting a residual
that is added to X_dec, so that an untrained or unhelpful SI-Net starts at X_hat = X_dec.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from pipeline.codec.layers import conv

DEFAULT_DILATIONS = (1, 2, 4, 8, 16, 1)


class SINet(nn.Module):
    """The dilated-convolution fusion network (the paper's baseline SI-Net)."""

    def __init__(self, width: int = 32, dilations: tuple[int, ...] = DEFAULT_DILATIONS) -> None:
        super().__init__()
        layers: list[nn.Module] = [conv(6, width, 3, dilation=dilations[0]), nn.LeakyReLU(0.2)]
        for dilation in dilations[1:]:
            layers += [conv(width, width, 3, dilation=dilation), nn.LeakyReLU(0.2)]
        layers.append(conv(width, 3, 3))
        self.body = nn.Sequential(*layers)
        nn.init.zeros_(self.body[-1].weight)
        nn.init.zeros_(self.body[-1].bias)

    def forward(self, x_dec: Tensor, y_syn: Tensor) -> Tensor:
        """X_hat = X_dec + f([X_dec, Y_syn]), both (B, 3, H, W) in [0, 1]."""
        return x_dec + self.body(torch.cat([x_dec, y_syn], dim=1))
