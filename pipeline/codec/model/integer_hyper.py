"""Integer hyper-synthesis: hyper-latent to entropy parameters, bit-exact on every device.

The scale (and mean) of every latent must come out identical on the camera that encodes and
on the GPU that decodes, or the rANS decoder desynchronises and the rest of the stream turns
to garbage (CompressAI issues #279 and #309). Floating-point convolutions do not guarantee
that across CPUs, GPUs and thread counts. Following Ballé, Johnston and Minnen, "Integer
Networks for Data Compression with Latent-Variable Models" (ICLR 2019), this network computes
in fixed point: weights on a 2**-WEIGHT_BITS grid, activations on a 2**-ACT_BITS grid,
clipped ReLU, floor rounding. At inference every product and partial sum is an integer below
2**53, so the float64 matrix products below are exact whatever the summation order or device.
Training uses the same arithmetic with straight-through rounding (:meth:`forward`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

WEIGHT_BITS = 8
ACT_BITS = 4
ACT_MAX = 64.0
Z_MAX = 1023
WEIGHT_MAX = 8.0


def _round_ste(x: Tensor) -> Tensor:
    return x + (torch.round(x) - x).detach()


def _floor_ste(x: Tensor) -> Tensor:
    return x + (torch.floor(x) - x).detach()


class IntegerHyperSynthesis(nn.Module):
    """h_s: integer hyper-latent ``z`` (1/64 size) to latent ``means`` and ``scales`` (1/16).

    Two sub-pixel upsampling stages (3x3 convolution to 4x channels, pixel shuffle) with
    clipped ReLU, then a 1x1 convolution to ``2 * m`` channels split into means and scales
    (1x1 because the encoder runs this head at 1/16 of the frame size, on a camera's CPU).
    """

    def __init__(self, nz: int, n: int, m: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            [nn.Conv2d(nz, 4 * n, 3, padding=1), nn.Conv2d(n, 4 * n, 3, padding=1)]
        )
        self.head = nn.Conv2d(n, 2 * m, 1)

    def forward(self, z_hat: Tensor) -> tuple[Tensor, Tensor]:
        """Training path in float32 that emulates the fixed-point arithmetic (STE rounding)."""
        x = _round_ste(z_hat).clamp(-Z_MAX, Z_MAX)
        for index, layer in enumerate(self.layers):
            acc = F.conv2d(x, self._weight_ste(layer), self._bias_ste(layer, index == 0), padding=1)
            x = F.pixel_shuffle(_floor_ste(acc.clamp(0.0, ACT_MAX) * 2**ACT_BITS) / 2**ACT_BITS, 2)
        out = F.conv2d(x, self._weight_ste(self.head), self._bias_ste(self.head, False))
        means, scales = out.chunk(2, dim=1)
        return means, scales

    @torch.no_grad()
    def integer_forward(self, z_int: Tensor) -> tuple[Tensor, Tensor]:
        """Exact inference path: ``z_int`` holds integers; returns float32 means and scales.

        Runs in float64 on whatever device ``z_int`` is on; the results are bit-identical on
        every device because each value is an exact dyadic rational.
        """
        x = z_int.to(torch.float64).clamp(-Z_MAX, Z_MAX)
        in_bits = 0
        for layer in self.layers:
            acc = self._exact_conv(x, layer, in_bits)
            shift = 2.0 ** (WEIGHT_BITS + in_bits - ACT_BITS)
            x = F.pixel_shuffle(torch.floor(acc / shift).clamp(0, ACT_MAX * 2**ACT_BITS), 2)
            in_bits = ACT_BITS
        out = self._exact_conv(x, self.head, in_bits) / 2.0 ** (WEIGHT_BITS + in_bits)
        means, scales = out.to(torch.float32).chunk(2, dim=1)
        return means, scales

    def quantize_weights_(self) -> None:
        """Snap weights and biases onto their fixed-point grids (done before export)."""
        with torch.no_grad():
            for index, layer in enumerate([*self.layers, self.head]):
                in_bits = 0 if index == 0 else ACT_BITS
                layer.weight.copy_(
                    self._grid(layer.weight, WEIGHT_BITS).clamp(-WEIGHT_MAX, WEIGHT_MAX)
                )
                layer.bias.copy_(self._grid(layer.bias, WEIGHT_BITS + in_bits))

    @staticmethod
    def _grid(t: Tensor, bits: int) -> Tensor:
        return torch.round(t * 2**bits) / 2**bits

    @staticmethod
    def _weight_ste(layer: nn.Conv2d) -> Tensor:
        w = layer.weight.clamp(-WEIGHT_MAX, WEIGHT_MAX)
        return _round_ste(w * 2**WEIGHT_BITS) / 2**WEIGHT_BITS

    @staticmethod
    def _bias_ste(layer: nn.Conv2d, first: bool) -> Tensor:
        bits = WEIGHT_BITS + (0 if first else ACT_BITS)
        return _round_ste(layer.bias * 2**bits) / 2**bits

    @staticmethod
    def _exact_conv(x: Tensor, layer: nn.Conv2d, in_bits: int) -> Tensor:
        """'Same' convolution as im2col + float64 matmul on integers: exact."""
        weight = torch.round(
            layer.weight.to(torch.float64).clamp(-WEIGHT_MAX, WEIGHT_MAX) * 2**WEIGHT_BITS
        ).to(x.device)
        bias = torch.round(layer.bias.to(torch.float64) * 2 ** (WEIGHT_BITS + in_bits)).to(x.device)
        batch, _, height, width = x.shape
        kernel = layer.kernel_size[0]
        cols = F.unfold(x, kernel_size=kernel, padding=kernel // 2)
        acc = weight.flatten(1) @ cols + bias[:, None]
        return acc.view(batch, -1, height, width)
