"""The camera-side encoder: image to bitstream container, on the CPU."""

from __future__ import annotations

import numpy as np
import torch

from pipeline.codec.api import Role
from pipeline.codec.container import FORMAT_VERSION, Bitstream, BitstreamHeader
from pipeline.codec.entropy import LatentCoder
from pipeline.codec.images import check_image, pad_to, to_tensor
from pipeline.codec.installed import WeightsFile
from pipeline.codec.model import PAD_MULTIPLE
from pipeline.codec.registry import LoadedModel, load, load_file
from pipeline.codec.standard import CAMERA_CODECS


def checked_quality(quality: int | None, qualities: tuple[int, ...], default: int) -> int:
    """``quality`` (``default`` when None); ValueError unless it is one of ``qualities``."""
    quality = default if quality is None else quality
    if quality not in qualities:
        raise ValueError(f"quality {quality} not in {qualities[0]}..{qualities[-1]}")
    return quality


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
        height, width = image.shape[:2]
        x = pad_to(to_tensor(image)[None], PAD_MULTIPLE)
        level = torch.tensor([quality - 1])
        y, z = self._model.analyse(x, level)
        params = self._model.entropy_parameters(z)
        symbols = torch.round(y - params.means)[0]
        strings = (self._coder.encode_z(z[0]), *self._coder.encode_y(symbols, params.indexes[0]))
        header = BitstreamHeader(
            FORMAT_VERSION,
            self.model_id,
            self._loaded.weights_hash,
            quality,
            Role(role),
            height,
            width,
            1 if image.ndim == 2 else 3,
        )
        return Bitstream(header, strings).to_bytes()


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
        from pipeline.codec.registry import STANDARD_MODELS, file_hash, standard_model_id
        from pipeline.codec.standard import STANDARD_CODECS

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
    if codec == "dsin":
        if weights is None:
            return ImageEncoder(model)
        return ImageEncoder(loaded=load_file(weights.path, widths_from_file=True))
    return StandardEncoder(codec, model, weights.digest if weights else "")
