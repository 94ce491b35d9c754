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
from pipeline.codec.entropy import LatentCoder
from pipeline.codec.errors import CorruptBitstreamError, ModelMismatchError
from pipeline.codec.images import padded_size, to_tensor
from pipeline.codec.limits import ImageLimits
from pipeline.codec.model import PAD_MULTIPLE
from pipeline.codec.registry import STANDARD_MODELS, LoadedModel
from pipeline.codec.standard import STANDARD_CODECS


@dataclass
class Latents:
    """One entropy-decoded learned-codec view: dequantised gained latents (CPU), its header."""

    header: BitstreamHeader
    y_hat: Tensor

    @property
    def level(self) -> int:
        """Zero-based quality level."""
        return self.header.quality - 1


@dataclass
class Pixels:
    """One decoded standard-codec view: (3, H, W) float in [0, 1] (grey replicated)."""

    header: BitstreamHeader
    image: Tensor
    codec: str


View = Latents | Pixels


class ViewReader:
    """Turns one container into a :data:`View`, for the learned model and the standard ones.

    ``standard_hash``: the weights hash of the standard-codec SI-Net this decoder holds (None
    when it holds none: standard views are then refused as a model mismatch).
    """

    def __init__(self, dsin: LoadedModel, standard_hash: str | None, limits: ImageLimits) -> None:
        self._dsin = dsin
        self._standard_hash = standard_hash
        self._limits = limits
        model = dsin.model
        self._coder = LatentCoder(
            model.entropy_bottleneck, model.gaussian_conditional, model.config.groups
        )

    def read(self, data: bytes) -> View:
        """Check and decode one container; raises a ``BitstreamError`` subclass."""
        bitstream = parse(data)
        header = bitstream.header
        if header.model_id in STANDARD_MODELS:
            self._check_model(header, self._standard_hash)
            self._limits.check(header.height, header.width)
            return self._pixels(header, bitstream.strings)
        self._check_model(header, self._dsin.weights_hash, self._dsin.spec.model_id)
        if header.quality > self._dsin.model.config.levels:
            raise CorruptBitstreamError(f"quality {header.quality} out of range for this model")
        self._limits.check(header.height, header.width)
        return self._latents(header, bitstream.strings)

    def _check_model(
        self, header: BitstreamHeader, weights_hash: str | None, model_id: str | None = None
    ) -> None:
        wrong_id = model_id is not None and header.model_id != model_id
        if wrong_id or weights_hash is None or header.weights_hash != weights_hash:
            raise ModelMismatchError(
                f"bitstream made with model {header.model_id} weights {header.weights_hash}; "
                f"this decoder has {self._dsin.spec.model_id} weights {self._dsin.weights_hash}"
                f" and standard-codec SI-Net weights {self._standard_hash}"
            )

    def _pixels(self, header: BitstreamHeader, strings: tuple[bytes, ...]) -> Pixels:
        if len(strings) != 1:
            raise CorruptBitstreamError(
                f"a standard-codec container holds 1 string, not {len(strings)}"
            )
        codec = STANDARD_MODELS[header.model_id].codec
        image = STANDARD_CODECS[codec].decode(
            strings[0], header.channels, (header.height, header.width)
        )
        return Pixels(header, to_tensor(image), codec)

    def _latents(self, header: BitstreamHeader, strings: tuple[bytes, ...]) -> Latents:
        model = self._dsin.model
        if len(strings) != 1 + self._coder.groups:
            raise CorruptBitstreamError(
                f"bitstream holds {len(strings)} strings, the model codes {1 + self._coder.groups}"
            )
        height, width = padded_size(header.height, header.width, PAD_MULTIPLE)
        z_shape = (model.config.nz, height // PAD_MULTIPLE, width // PAD_MULTIPLE)
        z = self._coder.decode_z(strings[0], z_shape)
        params = model.entropy_parameters(z[None])
        symbols = self._coder.decode_y(list(strings[1:]), params.indexes[0])
        return Latents(header, symbols.to(torch.float32) + params.means[0])
