"""Encoding: an image to a container (``docs/bitstream.md``), on a camera's CPU, without torch.

:class:`Encoder` is what every camera encoder offers; :class:`StandardEncoder` is the standard
codecs' (JPEG, WebP, AVIF), and both write their containers with
:func:`~pipeline.codec.bitstream.container.container`. The learned
codec's encoder (:class:`~pipeline.codec.model.encoder.ImageEncoder`, torch: the ``learned``
extra) is built by its family (:func:`pipeline.codec.family.make_encoder`) only for ``dsin``
(docs/install.md)."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from pipeline.codec.api import Role
from pipeline.codec.bitstream.container import container
from pipeline.codec.inputs import check_image, checked_quality
from pipeline.codec.standard import STANDARD_CODECS
from pipeline.codec.weights import STANDARD_MODELS, named_hash, standard_model_id


class Encoder(Protocol):
    """A camera encoder: a model id, its qualities, and images to containers."""

    @property
    def model_id(self) -> str:
        """The registry id written into every bitstream."""

    @property
    def qualities(self) -> tuple[int, ...]:
        """Valid quality values, low rate to high rate."""

    @property
    def default_quality(self) -> int:
        """The quality used when none is given."""

    def encode(
        self, image: np.ndarray, role: Role = Role.PRIMARY, quality: int | None = None
    ) -> bytes:
        """Encode one uint8 image; raises ValueError for a bad image or quality."""


class StandardEncoder:
    """Encodes images with a standard codec (JPEG, WebP, AVIF) into the same containers.

    The container carries the codec's complete file as its one string, the registry model id
    of the codec (``jpeg-si1``: it names the codec and the SI-Net that decodes it) and that
    SI-Net's weights hash, so the decoder routes, checks and refuses exactly as for the learned
    codec (``docs/bitstream.md``). Grey images stay grey. No torch work: a camera pays only the
    codec's own encoding.
    """

    def __init__(self, codec: str, model: str | None = None, weights_hash: str = "") -> None:
        """``codec``: ``jpeg``, ``webp`` or ``avif``; ``model``: the registry id (default the
        codec's registered one); ``weights_hash``: the SI-Net weights the containers name
        (default the built-in file's)."""
        if codec not in STANDARD_CODECS:
            raise ValueError(f"unknown codec {codec!r}; standard codecs: {sorted(STANDARD_CODECS)}")
        self._spec = STANDARD_MODELS[model or standard_model_id(codec)]
        if self._spec.codec != codec:
            raise ValueError(f"model {self._spec.model_id} codes {self._spec.codec}, not {codec}")
        self._codec = STANDARD_CODECS[codec]
        self._weights_hash = weights_hash or named_hash(self._spec.weights)

    @property
    def model_id(self) -> str:
        """The registry id written into every bitstream."""
        return self._spec.model_id

    @property
    def qualities(self) -> tuple[int, ...]:
        """Valid quality values (the codec's own scale), low rate to high rate."""
        return self._codec.qualities

    @property
    def default_quality(self) -> int:
        """The quality used when none is given."""
        return self._codec.default_quality

    def encode(
        self, image: np.ndarray, role: Role = Role.PRIMARY, quality: int | None = None
    ) -> bytes:
        """Encode one uint8 image; raises ValueError for a bad image or quality."""
        image = check_image(image)
        quality = checked_quality(quality, self.qualities, self.default_quality)
        strings = (self._codec.encode(image, quality),)
        return container(image, self.model_id, self._weights_hash, quality, role, strings)
