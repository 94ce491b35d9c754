"""A channel-conditional entropy model for y, fitted to a frozen codec's latents: a probe.

Minnen and Singh, "Channel-wise autoregressive entropy models for learned image compression"
(ICIP 2020): the latent y is split into channel slices, and each slice's means and scales are
predicted from the hyperprior's and from the slices already decoded. Every slice network reads
the hyperprior's (means, log scales) and its last layer starts at zero, so the untrained model
codes exactly as the shipped hyperprior does and any saving is the context's.

It only measures: floating point, no bitstream. A shipped one would need the integer
arithmetic of :mod:`pipeline.codec.integer_hyper`, so that camera and decoder agree bit for bit.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from pipeline.codec.integer_hyper import Z_MAX
from pipeline.codec.model import DsinCodec

#: GaussianConditional's lower bound on scales.
SCALE_MIN = 0.11
_NORMAL = torch.distributions.Normal(0.0, 1.0)


def gaussian_bits(residual: Tensor, scales: Tensor) -> Tensor:
    """Bits of the unit bin around ``residual`` (y minus its mean) under N(0, ``scales``)."""
    scales = scales.clamp_min(SCALE_MIN)
    magnitude = residual.abs()
    upper = _NORMAL.cdf((0.5 - magnitude) / scales)
    lower = _NORMAL.cdf((-0.5 - magnitude) / scales)
    return -torch.log2((upper - lower).clamp_min(1e-9))


def table_scales(model: DsinCodec, scales: Tensor) -> Tensor:
    """The scale the rANS coder uses: the first scale-table entry at or above ``scales``."""
    table = model.gaussian_conditional.scale_table.to(scales)
    return table[torch.bucketize(scales, table[:-1])]


@torch.no_grad()
def hyperprior(model: DsinCodec, y: Tensor) -> tuple[Tensor, Tensor]:
    """The shipped entropy parameters of gained latents ``y``: exact means, raw scales."""
    z = torch.round(model.h_a(y)).clamp(-Z_MAX, Z_MAX)
    return model.h_s.integer_forward(z)


class ChannelContext(nn.Module):
    """Per slice: (hyperprior, earlier slices) -> corrections to the hyperprior's parameters."""

    def __init__(self, m: int, slices: int, width: int = 96) -> None:
        super().__init__()
        if m % slices:
            raise ValueError(f"{m} latent channels do not split into {slices} slices")
        self.size = m // slices
        self.nets = nn.ModuleList(
            [self._net(2 * m + k * self.size, 2 * self.size, width) for k in range(slices)]
        )

    @staticmethod
    def _net(cin: int, cout: int, width: int) -> nn.Sequential:
        net = nn.Sequential(
            nn.Conv2d(cin, width, 3, padding=1),
            nn.LeakyReLU(),
            nn.Conv2d(width, width, 3, padding=1),
            nn.LeakyReLU(),
            nn.Conv2d(width, cout, 3, padding=1),
        )
        nn.init.zeros_(net[-1].weight)
        nn.init.zeros_(net[-1].bias)
        return net

    def forward(self, y: Tensor, means: Tensor, scales: Tensor, quantise: Tensor | None) -> Tensor:
        """Bits of every latent of ``y`` (B, M, H, W), shaped like ``y``.

        Training (``quantise`` None): uniform noise for the rate, straight-through rounding for
        the slices passed on. Measuring: ``quantise`` is the model whose scale table the coder
        uses, and y is rounded as the coder rounds it (around each slice's own means).
        """
        hyper = torch.cat([means, torch.log(scales.clamp_min(SCALE_MIN))], 1)
        decoded: list[Tensor] = []
        bits: list[Tensor] = []
        for k, net in enumerate(self.nets):
            part = slice(k * self.size, (k + 1) * self.size)
            d_mean, d_log_scale = net(torch.cat([hyper, *decoded], 1)).chunk(2, 1)
            mean = means[:, part] + d_mean
            scale = scales[:, part].clamp_min(SCALE_MIN) * torch.exp(d_log_scale)
            residual = y[:, part] - mean
            rounded = residual + (torch.round(residual) - residual).detach()
            if quantise is None:
                noisy = residual + torch.empty_like(residual).uniform_(-0.5, 0.5)
                bits.append(gaussian_bits(noisy, scale))
            else:
                bits.append(gaussian_bits(rounded, table_scales(quantise, scale)))
            decoded.append(mean + rounded)
        return torch.cat(bits, 1)
