"""Small building blocks of the codec's transforms."""

from __future__ import annotations

import torch
from compressai.layers import GDN
from torch import Tensor, nn


def conv(in_ch: int, out_ch: int, kernel: int = 3, stride: int = 1, dilation: int = 1) -> nn.Conv2d:
    """A 'same'-padded convolution (output size = input size / stride)."""
    return nn.Conv2d(
        in_ch, out_ch, kernel, stride=stride, padding=dilation * (kernel // 2), dilation=dilation
    )


def deconv(in_ch: int, out_ch: int, kernel: int = 5, stride: int = 2) -> nn.ConvTranspose2d:
    """A transposed convolution that multiplies height and width by ``stride`` exactly."""
    return nn.ConvTranspose2d(
        in_ch, out_ch, kernel, stride=stride, padding=kernel // 2, output_padding=stride - 1
    )


def analysis_transform(n: int, m: int) -> nn.Sequential:
    """The camera-side analysis transform g_a: RGB to ``m`` latent channels at 1/16 size.

    Space-to-depth first, then three stride-2 convolutions (3x3, 3x3, 5x5) with GDN, so that
    a 640x480 frame encodes in a few tens of milliseconds on one CPU core (the speed bar).
    """
    return nn.Sequential(
        nn.PixelUnshuffle(2),
        conv(12, n, 3, stride=2),
        GDN(n),
        conv(n, n, 3, stride=2),
        GDN(n),
        conv(n, m, 5, stride=2),
    )


def synthesis_transform(m: int, n: int) -> nn.Sequential:
    """The decoder-side synthesis transform g_s: latents back to RGB, x16 in size."""
    return nn.Sequential(
        deconv(m, n),
        GDN(n, inverse=True),
        deconv(n, n),
        GDN(n, inverse=True),
        deconv(n, n),
        GDN(n, inverse=True),
        deconv(n, 3),
    )


def hyper_analysis(m: int, nz: int) -> nn.Sequential:
    """h_a: latents to the hyper-latent z at 1/64 of the image size."""
    return nn.Sequential(
        conv(m, nz, 3),
        nn.LeakyReLU(inplace=True),
        conv(nz, nz, 5, stride=2),
        nn.LeakyReLU(inplace=True),
        conv(nz, nz, 5, stride=2),
    )


class GainUnit(nn.Module):
    """Per-quality channel gains for one variable-rate model.

    Cui et al., "Asymmetric Gained Deep Image Compression With Continuous Rate Adaptation"
    (CVPR 2021): quality ``q`` scales the latent channels by ``gain[q]`` before quantisation
    and by ``inverse[q]`` after it, so one set of transforms serves every rate point.
    """

    def __init__(self, levels: int, channels: int) -> None:
        super().__init__()
        # Start the levels a factor sqrt(2) apart so they differ in rate from the first step.
        start = 2.0 ** (0.5 * (torch.arange(levels, dtype=torch.float32) - (levels - 1) / 2))
        self.gain = nn.Parameter(start[:, None].repeat(1, channels))
        self.inverse = nn.Parameter((1.0 / start)[:, None].repeat(1, channels))

    def forward(self, y: Tensor, level: Tensor) -> Tensor:
        """``y * gain[level]`` with one level index per batch item."""
        return y * self.gain[level].abs()[:, :, None, None]

    def invert(self, y_hat: Tensor, level: Tensor) -> Tensor:
        """``y_hat * inverse[level]``, the decoder side of :meth:`forward`."""
        return y_hat * self.inverse[level].abs()[:, :, None, None]
