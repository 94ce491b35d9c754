"""The DSIN codec on CompressAI: a variable-rate mean-scale hyperprior plus SI-Finder and SI-Net.

One autoencoder codes both views (as in DSIN): the side view is decoded on its own, the
primary view is decoded to X_dec, matched against the decoded side view (SI-Finder) and fused
with it (SI-Net). The model follows CompressAI's contract: :meth:`forward` for training
returns reconstructions and likelihoods; bitstream work is in :mod:`pipeline.codec.model.encoder`
and :mod:`pipeline.codec.decode.decoder`, which call the inference pieces below.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from compressai.entropy_models import EntropyBottleneck, GaussianConditional
from compressai.models import CompressionModel
from torch import Tensor

from pipeline.codec.model.fusion import find_batch
from pipeline.codec.model.integer_hyper import Z_MAX, IntegerHyperSynthesis
from pipeline.codec.model.layers import (
    GainUnit,
    analysis_transform,
    hyper_analysis,
    synthesis_transform,
)
from pipeline.codec.model.si_finder import SIFinderConfig
from pipeline.codec.model.si_net import DEFAULT_DILATIONS, SINet

#: Image sides are padded to a multiple of this (g_a x16, h_a x4).
PAD_MULTIPLE = 64


@dataclass(frozen=True)
class CodecConfig:
    """Architecture and rate points of one model (stored in the registry).

    ``n_a`` is the camera-side analysis width and ``n_h`` the hyper-synthesis width, both
    smaller than the decoder-side synthesis width ``n``: the encoder runs on a camera's CPU.
    ``si_guided``: the SI-Net also reads the match confidence and the level (``si_net``).
    """

    n: int = 64
    n_a: int = 48
    n_h: int = 48
    m: int = 96
    nz: int = 64
    groups: int = 4
    lambdas: tuple[float, ...] = (
        0.00012,
        0.00024,
        0.00047,
        0.0009,
        0.0018,
        0.0035,
        0.0067,
        0.013,
        0.025,
        0.0483,
        0.0932,
    )
    si_width: int = 32
    si_dilations: tuple[int, ...] = DEFAULT_DILATIONS
    si_guided: bool = False
    si_finder: SIFinderConfig = field(default_factory=SIFinderConfig)

    @property
    def levels(self) -> int:
        """Number of quality levels (rate points)."""
        return len(self.lambdas)


@dataclass
class ForwardResult:
    """Training-time output: the reconstruction and the likelihoods of y and z."""

    x_dec: Tensor
    likelihoods: dict[str, Tensor]


@dataclass
class EntropyParameters:
    """Per-latent means, scale-table indexes, from the exact integer hyper-synthesis."""

    means: Tensor
    indexes: Tensor


def round_ste(x: Tensor) -> Tensor:
    """Round with a straight-through gradient."""
    return x + (torch.round(x) - x).detach()


class DsinCodec(CompressionModel):
    """Variable-rate mean-scale hyperprior codec with DSIN side-information decoding."""

    def __init__(self, config: CodecConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or CodecConfig()
        self.g_a = analysis_transform(config.n_a, config.m)
        self.g_s = synthesis_transform(config.m, config.n)
        self.h_a = hyper_analysis(config.m, config.nz)
        self.h_s = IntegerHyperSynthesis(config.nz, config.n_h, config.m)
        self.gain = GainUnit(config.levels, config.m)
        self.entropy_bottleneck = EntropyBottleneck(config.nz)
        self.gaussian_conditional = GaussianConditional(None)
        self.si_net = SINet(config.si_width, config.si_dilations, config.levels, config.si_guided)

    def forward(self, x: Tensor, level: Tensor) -> ForwardResult:
        """Training pass over (B, 3, H, W) images in [0, 1] with one quality level per item."""
        # The analysis (its output is quantised), the entropy models and the fixed-point h_s
        # stay in float32 under mixed precision; the synthesis may run in bfloat16.
        with torch.autocast(x.device.type, enabled=False):
            y = self.gain(self.g_a(x.float()), level)
            z = self.h_a(y)
            _, z_likelihoods = self.entropy_bottleneck(z)
            means, scales = self.h_s(round_ste(z))
            _, y_likelihoods = self.gaussian_conditional(y, scales, means)
            y_hat = round_ste(y - means) + means
        x_dec = self.g_s(self.gain.invert(y_hat, level))
        return ForwardResult(x_dec, {"y": y_likelihoods, "z": z_likelihoods})

    def fuse(
        self,
        x_dec: Tensor,
        side_dec: Tensor,
        finder: SIFinderConfig | None = None,
        level: Tensor | None = None,
        scaled: bool = True,
        ensemble: int = 1,
    ) -> Tensor:
        """X_hat from X_dec (B, 3, H, W) and decoded side images (a batch or a list).

        ``level`` (B,), X_dec's levels: the guided SI-Net's level input and, unless
        ``scaled`` is off (training, calibration), the SI-Net's calibrated per-level scales.
        ``ensemble``: the SI-Net's self-ensemble size (1 in training).
        """
        y_syn, confidence = find_batch(x_dec, side_dec, finder or self.config.si_finder)
        return self.si_net(x_dec, y_syn, level, confidence, scaled, ensemble)

    @torch.no_grad()
    def analyse(self, x: Tensor, level: Tensor) -> tuple[Tensor, Tensor]:
        """Encoder side: gained latents ``y`` and integer hyper-latents ``z``."""
        y = self.gain(self.g_a(x), level)
        z = torch.round(self.h_a(y)).clamp(-Z_MAX, Z_MAX)
        return y, z

    @torch.no_grad()
    def entropy_parameters(self, z_int: Tensor) -> EntropyParameters:
        """Means and scale indexes of ``y`` from integer ``z``: bit-exact on any device."""
        means, scales = self.h_s.integer_forward(z_int)
        return EntropyParameters(means, self.scale_indexes(scales))

    def scale_indexes(self, scales: Tensor) -> Tensor:
        """Scale-table indexes the coder uses: the first table entry at or above each scale."""
        table = self.gaussian_conditional.scale_table.to(scales.device)
        # Same as GaussianConditional.build_indexes (count of table entries below the scale),
        # in one vectorised search instead of a Python loop over the table.
        return torch.bucketize(scales.contiguous(), table[:-1], right=False).to(torch.int32)

    @torch.no_grad()
    def synthesise(self, y_hat: Tensor, level: Tensor) -> Tensor:
        """Decoder side: dequantised gained latents to X_dec in [0, 1]."""
        return self.g_s(self.gain.invert(y_hat, level)).clamp(0.0, 1.0)
