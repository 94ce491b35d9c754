"""A channel-conditional entropy model for y, fitted to a frozen codec's latents: a probe.

Minnen and Singh, "Channel-wise autoregressive entropy models for learned image compression"
(ICIP 2020): the latent y is split into channel slices, and each slice's means and scales are
predicted from the hyperprior's and from the slices already decoded. Every slice network reads
the hyperprior's (means, log scales) and its last layer starts at zero, so the untrained model
codes exactly as the shipped hyperprior does and any saving is the context's.

It only measures: floating point, no bitstream. A shipped one would need the integer
arithmetic of :mod:`pipeline.codec.model.integer_hyper`, so that camera and decoder agree bit
for bit.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from pipeline.codec.model.dsin import DsinCodec, EntropyParameters, round_ste


def coded_scales(model: DsinCodec, indexes: Tensor) -> Tensor:
    """The scales the rANS coder uses for scale-table ``indexes``."""
    return model.gaussian_conditional.scale_table[indexes.long()]


def bits(model: DsinCodec, y: Tensor, scales: Tensor, means: Tensor, training: bool) -> Tensor:
    """Bits of ``y`` under the model's GaussianConditional, shaped like ``y``.

    Training: y with uniform noise. Otherwise: y rounded around ``means``, as the coder rounds it.
    """
    _, likelihoods = model.gaussian_conditional(y, scales, means, training=training)
    return -torch.log2(likelihoods)


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

    def forward(
        self, model: DsinCodec, y: Tensor, params: EntropyParameters, training: bool
    ) -> Tensor:
        """Bits of every latent of ``y`` (B, M, H, W), shaped like ``y``.

        ``params``: the shipped hyper-synthesis's output for ``y``. Training: noisy rate,
        straight-through rounding for the slices passed on. Measuring: each slice's scales
        snapped to the coder's table, y rounded around the slice's own means.
        """
        scales = coded_scales(model, params.indexes)
        hyper = torch.cat([params.means, torch.log(scales)], 1)
        decoded: list[Tensor] = []
        out: list[Tensor] = []
        for k, net in enumerate(self.nets):
            part = slice(k * self.size, (k + 1) * self.size)
            d_mean, d_log_scale = net(torch.cat([hyper, *decoded], 1)).chunk(2, 1)
            mean = params.means[:, part] + d_mean
            scale = scales[:, part] * torch.exp(d_log_scale)
            if not training:
                scale = coded_scales(model, model.scale_indexes(scale))
            out.append(bits(model, y[:, part], scale, mean, training))
            decoded.append(mean + round_ste(y[:, part] - mean))
        return torch.cat(out, 1)
