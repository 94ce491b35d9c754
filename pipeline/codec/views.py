"""The decoder's first stage for one view: container checks, then entropy or file decoding.

A learned-codec (``dsin``) view becomes :class:`Latents` (rANS decoding and the exact integer
hyper-synthesis; the synthesis runs later on the model's device); a standard-codec view becomes
:class:`Pixels` (its JPEG, WebP or AVIF file decoded on the CPU). Both run on the CPU, in the
daemon's entropy-decoding thread. Every check runs before any allocation sized by the bitstream:
the container (magic, version, length, CRC), the model id and weights hash, the image limits,
the string count; errors are typed :class:`~pipeline.codec.errors.BitstreamError` subclasses.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from pipeline.codec.container import BitstreamHeader, parse
from pipeline.codec.errors import CorruptBitstreamError
from pipeline.codec.images import padded_size, to_tensor
from pipeline.codec.limits import ImageLimits
from pipeline.codec.model import PAD_MULTIPLE
from pipeline.codec.model_set import DsinEntry, ModelSet, StandardEntry
from pipeline.codec.registry import STANDARD_MODELS
from pipeline.codec.standard import STANDARD_CODECS


@dataclass
class Latents:
    """One entropy-decoded learned-codec view: dequantised gained latents (CPU), its header,
    and the weights set that decodes it."""

    header: BitstreamHeader
    y_hat: Tensor
    entry: DsinEntry

    @property
    def level(self) -> int:
        """Zero-based quality level."""
        return self.header.quality - 1


@dataclass
class Pixels:
    """One decoded standard-codec view: (3, H, W) float in [0, 1] (grey replicated), and the
    standard-codec SI-Net its container names."""

    header: BitstreamHeader
    image: Tensor
    codec: str
    entry: StandardEntry


View = Latents | Pixels


class ViewReader:
    """Turns one container into a :data:`View`, with the weights set its header names
    (:class:`ModelSet`; a set it does not hold raises ``ModelMismatchError``)."""

    def __init__(self, models: ModelSet, limits: ImageLimits) -> None:
        self._models = models
        self._limits = limits

    def read(self, data: bytes) -> View:
        """Check and decode one container; raises a ``BitstreamError`` subclass."""
        bitstream = parse(data)
        header = bitstream.header
        if header.model_id in STANDARD_MODELS:
            standard = self._models.standard(header.model_id, header.weights_hash)
            self._limits.check(header.height, header.width)
            return self._pixels(header, bitstream.strings, standard)
        entry = self._models.dsin(header.model_id, header.weights_hash)
        if header.quality > entry.loaded.model.config.levels:
            raise CorruptBitstreamError(f"quality {header.quality} out of range for this model")
        self._limits.check(header.height, header.width)
        return self._latents(header, bitstream.strings, entry)

    @staticmethod
    def _pixels(
        header: BitstreamHeader, strings: tuple[bytes, ...], entry: StandardEntry
    ) -> Pixels:
        if len(strings) != 1:
            raise CorruptBitstreamError(
                f"a standard-codec container holds 1 string, not {len(strings)}"
            )
        codec = STANDARD_MODELS[header.model_id].codec
        image = STANDARD_CODECS[codec].decode(
            strings[0], header.channels, (header.height, header.width)
        )
        return Pixels(header, to_tensor(image), codec, entry)

    @staticmethod
    def _latents(header: BitstreamHeader, strings: tuple[bytes, ...], entry: DsinEntry) -> Latents:
        model, coder = entry.loaded.model, entry.coder
        if len(strings) != 1 + coder.groups:
            raise CorruptBitstreamError(
                f"bitstream holds {len(strings)} strings, the model codes {1 + coder.groups}"
            )
        height, width = padded_size(header.height, header.width, PAD_MULTIPLE)
        z_shape = (model.config.nz, height // PAD_MULTIPLE, width // PAD_MULTIPLE)
        z = coder.decode_z(strings[0], z_shape)
        params = model.entropy_parameters(z[None])
        symbols = coder.decode_y(list(strings[1:]), params.indexes[0])
        return Latents(header, symbols.to(torch.float32) + params.means[0], entry)
