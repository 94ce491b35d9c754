"""An SI-Net body for inference on a CPU: each convolution and its LeakyReLU in one oneDNN call.

The eager body (convolution, LeakyReLU, ..., convolution) writes every activation twice, once
by the convolution and again by the LeakyReLU, which on a CPU cost a quarter of the SI-Net's
time (640x480, bfloat16, this project's 2-core CPU). oneDNN applies the LeakyReLU as the
convolution's post-op: ``torch.ops.mkldnn._convolution_pointwise``, the operator PyTorch's own
compiler emits for CPUs (an internal operator of the pinned torch; where a build lacks it, the
body runs eagerly). A :class:`FusedBody` holds its own copy of the weights in the decoder's
dtype, channels-last, so it serves inference only: :class:`~pipeline.codec.model.si_net.SINet`
uses it without gradients, on a CPU tensor, with oneDNN on (never in the decoder's
deterministic mode, which turns oneDNN off).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class _Layer:
    """One convolution and the activation fused after it (``none`` for the last)."""

    weight: Tensor
    bias: Tensor | None
    padding: list[int]
    dilation: list[int]
    activation: str
    scalars: list[float]


def fused_available() -> bool:
    """Whether this torch has oneDNN and its fused convolution operator."""
    return torch.backends.mkldnn.is_available() and hasattr(
        torch.ops.mkldnn, "_convolution_pointwise"
    )


class FusedBody:
    """A copy of an SI-Net body (3x3 convolutions, stride 1, each but the last followed by a
    LeakyReLU) run as fused oneDNN calls in ``dtype``."""

    def __init__(self, body: nn.Sequential, dtype: torch.dtype) -> None:
        self.dtype = dtype
        self.layers = _layers(list(body), dtype)

    def __call__(self, inputs: Tensor) -> Tensor:
        """The body's output for ``inputs`` (B, C, H, W), in :attr:`dtype`, channels-last."""
        x = inputs.to(self.dtype).contiguous(memory_format=torch.channels_last)
        for layer in self.layers:
            x = torch.ops.mkldnn._convolution_pointwise(
                x,
                layer.weight,
                layer.bias,
                layer.padding,
                [1, 1],
                layer.dilation,
                1,
                layer.activation,
                layer.scalars,
                None,
            )
        return x


def _layers(modules: list[nn.Module], dtype: torch.dtype) -> list[_Layer]:
    layers = []
    for i, module in enumerate(modules):
        if isinstance(module, nn.LeakyReLU):
            continue
        if not isinstance(module, nn.Conv2d) or module.stride != (1, 1) or module.groups != 1:
            raise ValueError(f"a fused body takes stride-1 convolutions, not {module}")
        after = modules[i + 1] if i + 1 < len(modules) else None
        relu = isinstance(after, nn.LeakyReLU)
        layers.append(
            _Layer(
                module.weight.detach().to(dtype).contiguous(memory_format=torch.channels_last),
                None if module.bias is None else module.bias.detach().to(dtype),
                list(module.padding),
                list(module.dilation),
                "leaky_relu" if relu else "none",
                [after.negative_slope] if relu else [],
            )
        )
    return layers
