"""The learned family's parts of the decode stages: a ``dsin`` view as latents, and its SI-Net.

Stage 1 (``entropy_decode``, CPU): rANS decoding and the exact integer hyper-synthesis turn a
container's strings into dequantised gained latents; the synthesis (stage 2) runs them through
the model's ``g_s`` on its device; stage 4 (``si_net``) is the model's guided SI-Net, told the
level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from pipeline.codec.bitstream.container import BitstreamHeader
from pipeline.codec.bitstream.errors import CorruptBitstreamError
from pipeline.codec.bitstream.limits import ImageLimits
from pipeline.codec.decode.model_set import DsinEntry
from pipeline.codec.model.dsin import PAD_MULTIPLE
from pipeline.codec.model.tensors import padded_size

if TYPE_CHECKING:
    from pipeline.codec.family import CodecFamily


@dataclass
class Latents:
    """One entropy-decoded learned-codec view: dequantised gained latents (CPU), its header,
    the weights set that decodes it and its family."""

    header: BitstreamHeader
    y_hat: Tensor
    entry: DsinEntry
    family: CodecFamily

    @property
    def level(self) -> int:
        """Zero-based quality level."""
        return self.header.quality - 1


def read_latents(
    header: BitstreamHeader,
    strings: tuple[bytes, ...],
    entry: DsinEntry,
    limits: ImageLimits,
    family: CodecFamily,
) -> Latents:
    """Check the quality, image size and string count, then entropy-decode the latents."""
    model, coder = entry.loaded.model, entry.coder
    if header.quality > model.config.levels:
        raise CorruptBitstreamError(f"quality {header.quality} out of range for this model")
    limits.check(header.height, header.width)
    if len(strings) != 1 + coder.groups:
        raise CorruptBitstreamError(
            f"bitstream holds {len(strings)} strings, the model codes {1 + coder.groups}"
        )
    height, width = padded_size(header.height, header.width, PAD_MULTIPLE)
    z_shape = (model.config.nz, height // PAD_MULTIPLE, width // PAD_MULTIPLE)
    z = coder.decode_z(strings[0], z_shape)
    params = model.entropy_parameters(z[None])
    symbols = coder.decode_y(list(strings[1:]), params.indexes[0])
    return Latents(header, symbols.to(torch.float32) + params.means[0], entry, family)


def fuse_latents(
    views: list[Latents], x: Tensor, y_syn: Tensor, confidence: Tensor, ensemble: int
) -> Tensor:
    """The guided SI-Net of the views' model over a batch (one weights set, one shape)."""
    levels = torch.tensor([view.level for view in views], device=x.device)
    return views[0].entry.model.si_net(x, y_syn, levels, confidence, ensemble=ensemble)
