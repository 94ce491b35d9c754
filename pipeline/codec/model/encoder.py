"""The learned codec's encoder: image to bitstream container, on the camera's CPU (torch)."""

from __future__ import annotations

import numpy as np
import torch

from pipeline.codec.api import Role
from pipeline.codec.bitstream.container import container
from pipeline.codec.entropy.coder import LatentCoder
from pipeline.codec.inputs import check_image, checked_quality
from pipeline.codec.model.dsin import PAD_MULTIPLE
from pipeline.codec.model.registry import LoadedModel, load
from pipeline.codec.model.tensors import pad_to, to_tensor


class ImageEncoder:
    """Encodes images of any size, grey or RGB, into self-describing bitstreams.

    Both roles use the same analysis transform (DSIN's shared autoencoder); the role is
    recorded in the bitstream so the decoder knows which view it holds.
    """

    def __init__(self, model: str | None = None, loaded: LoadedModel | None = None) -> None:
        self._loaded = loaded or load(model)
        self._model = self._loaded.model
        self._coder = LatentCoder(
            self._model.entropy_bottleneck,
            self._model.gaussian_conditional,
            self._model.config.groups,
        )

    @property
    def model_id(self) -> str:
        """The registry id written into every bitstream."""
        return self._loaded.spec.model_id

    @property
    def qualities(self) -> tuple[int, ...]:
        """Valid quality values, low rate to high rate."""
        return tuple(range(1, self._model.config.levels + 1))

    @property
    def default_quality(self) -> int:
        """The quality used when none is given."""
        return self._loaded.spec.default_quality

    def encode(
        self, image: np.ndarray, role: Role = Role.PRIMARY, quality: int | None = None
    ) -> bytes:
        """Encode one uint8 image; raises ValueError for a bad image or quality."""
        image = check_image(image)
        quality = checked_quality(quality, self.qualities, self.default_quality)
        x = pad_to(to_tensor(image)[None], PAD_MULTIPLE)
        level = torch.tensor([quality - 1])
        y, z = self._model.analyse(x, level)
        params = self._model.entropy_parameters(z)
        symbols = torch.round(y - params.means)[0]
        strings = (self._coder.encode_z(z[0]), *self._coder.encode_y(symbols, params.indexes[0]))
        return container(image, self.model_id, self._loaded.weights_hash, quality, role, strings)
