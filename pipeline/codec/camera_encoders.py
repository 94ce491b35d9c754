"""The camera's encoders: :class:`StandardEncoder` (JPEG, WebP, AVIF; no torch) and
:func:`make_encoder`, which imports the learned :class:`~pipeline.codec.encoder.ImageEncoder`
(torch, the ``learned`` extra) only for the ``dsin`` codec (docs/install.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pipeline.codec.api import Role
from pipeline.codec.container import FORMAT_VERSION, Bitstream, BitstreamHeader
from pipeline.codec.inputs import check_image, checked_quality
from pipeline.codec.standard import CAMERA_CODECS, STANDARD_CODECS
from pipeline.codec.standard_models import STANDARD_MODELS, standard_model_id
from pipeline.codec.weights_files import file_hash

if TYPE_CHECKING:
    from pipeline.codec.encoder import ImageEncoder
    from pipeline.codec.installed import WeightsFile


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
        self._weights_hash = weights_hash or file_hash(self._spec.weights)

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
        header = BitstreamHeader(
            FORMAT_VERSION,
            self.model_id,
            self._weights_hash,
            quality,
            Role(role),
            *image.shape[:2],
            1 if image.ndim == 2 else 3,
        )
        return Bitstream(header, (self._codec.encode(image, quality),)).to_bytes()


def make_encoder(
    codec: str = "dsin", model: str | None = None, weights: WeightsFile | None = None
) -> ImageEncoder | StandardEncoder:
    """The encoder of a camera codec (``CAMERA_CODECS``); ``model`` a registry id or None;
    ``weights``: the file to encode with (:func:`pipeline.codec.installed.select`; None: the
    built-in one): the learned model's weights, or the SI-Net whose hash standard containers
    name."""
    if codec not in CAMERA_CODECS:
        raise ValueError(f"unknown codec {codec!r}; camera codecs: {', '.join(CAMERA_CODECS)}")
    if codec == "dsin":  # torch: the `learned` extra
        from pipeline.codec.encoder import ImageEncoder
        from pipeline.codec.registry import load_file

        if weights is None:
            return ImageEncoder(model)
        return ImageEncoder(loaded=load_file(weights.path, widths_from_file=True))
    return StandardEncoder(codec, model, weights.digest if weights else "")
