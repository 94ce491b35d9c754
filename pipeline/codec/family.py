"""Codec families: what a camera codec or a model id does, asked in one place.

A :class:`CodecFamily` answers, for the codecs and model ids it owns: which weights a camera
codec encodes with, how to build its encoder, how the decoder reads one of its views (stage 1,
``entropy_decode``), whether that view goes through the synthesis, and which SI-Finder settings
and SI-Net fuse it. There are two today: :data:`LEARNED` (``dsin``: latents, the model's
synthesis and guided SI-Net) and :data:`STANDARD` (``jpeg``, ``webp``, ``avif``: a file decoded
to pixels, the standard-codec SI-Net told the codec and quality). Nothing else in the codec, the
camera or the decoder compares a model id or codec name with a literal.

This module imports no torch: a family's torch work (the learned encoder, the decode stages in
:mod:`pipeline.codec.decode.latents` and :mod:`pipeline.codec.decode.pixels`) is imported when
first asked for, so a camera with a standard codec runs without torch (docs/install.md).

:data:`VIDEO` (``h264``, ``hevc``, ``av1``) keeps per-stream state: its frames must be decoded
once and in order per stream, so the decoder node decodes them at receive, before pairing
(:mod:`decoder_node.streams`), and stage 1 takes the frame decoded there (``read_view``'s
``pixels``), then goes :data:`STANDARD`'s way.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.codec.bitstream.errors import CorruptBitstreamError, WeightsError
from pipeline.codec.encode import Encoder, StandardEncoder
from pipeline.codec.standard import CAMERA_CODECS, CODEC_NAMES
from pipeline.codec.video.settings import VIDEO_CODECS
from pipeline.codec.weights import (
    LEARNED_MODEL_IDS,
    STANDARD_MODELS,
    VIDEO_MODELS,
    WeightsFile,
    standard_model_id,
)

if TYPE_CHECKING:
    import numpy as np

    from pipeline.codec.bitstream.container import BitstreamHeader
    from pipeline.codec.bitstream.limits import ImageLimits
    from pipeline.codec.decode.latents import Latents
    from pipeline.codec.decode.model_set import ModelSet
    from pipeline.codec.decode.pixels import Pixels
    from pipeline.codec.model.si_finder import SIFinderConfig
    from pipeline.codec.video.settings import VideoSettings


@dataclass(frozen=True)
class CodecFamily(ABC):
    """The codecs and model ids of one family, and what the camera and decoder ask of them."""

    name: str
    codecs: tuple[str, ...]
    #: Its encoder needs torch (the ``learned`` extra): the camera sets torch's threads.
    encodes_with_torch: bool
    #: Its views are latents the decoder's synthesis turns into X_dec (else pixels already).
    synthesised: bool

    @abstractmethod
    def model_ids(self) -> tuple[str, ...]:
        """The model ids its bitstreams may carry."""

    def serves_model(self, model_id: str) -> bool:
        """True when bitstreams of ``model_id`` are this family's."""
        return model_id in self.model_ids()

    def serves_weights(self, name: str) -> bool:
        """True when weights files named ``name`` are this family's."""
        return name in {self.weights_of_model(m) for m in self.model_ids()}

    @abstractmethod
    def weights_of_model(self, model_id: str) -> str:
        """The weights name that decodes bitstreams of ``model_id``."""

    @abstractmethod
    def model_id(self, codec: str, model: str | None = None) -> str:
        """The model id a camera running ``codec`` writes (``model`` or the codec's default);
        WeightsError when ``model`` is not one of ``codec``'s."""

    def weights_name(self, codec: str, model: str | None = None) -> str:
        """The weights a camera codec encodes with (their hash goes into every container)."""
        return self.weights_of_model(self.model_id(codec, model))

    @abstractmethod
    def top_quality(self, codec: str, model: str | None = None) -> int:
        """The highest quality setting of ``codec`` (the lowest is 1)."""

    @abstractmethod
    def make_encoder(
        self, codec: str, model: str | None = None, weights: WeightsFile | None = None
    ) -> Encoder:
        """The encoder of ``codec``; ``weights``: the file to encode with (None: built in)."""

    @abstractmethod
    def read_view(
        self,
        header: BitstreamHeader,
        strings: tuple[bytes, ...],
        models: ModelSet,
        limits: ImageLimits,
        pixels: np.ndarray | None = None,
    ) -> Latents | Pixels:
        """Decode stage 1 for one checked container: its weights set, then the view.
        ``pixels``: the view's image when it was decoded before stage 1 (a video stream's
        frame, at receive); a family whose views stand alone decodes its container instead."""

    def stream_codec(self, model_id: str) -> str | None:
        """The codec of the stream whose packets ``model_id``'s containers carry (the wire
        header's ``stream.codec`` must name it); None for a family whose frames stand alone."""
        return None

    @abstractmethod
    def si_finder(self, view, default: SIFinderConfig | None) -> SIFinderConfig:
        """The SI-Finder settings for ``view`` (``default``: the decoder's, when it has one)."""

    @abstractmethod
    def si_net(self, views: list, x, y_syn, confidence, ensemble: int):
        """X_hat of a batch of this family's ``views`` (one weights set, one shape)."""


class LearnedFamily(CodecFamily):
    """The learned codec (``dsin``): latents, the model's synthesis and its guided SI-Net."""

    def model_ids(self) -> tuple[str, ...]:
        return LEARNED_MODEL_IDS

    def weights_of_model(self, model_id: str) -> str:
        return model_id

    def model_id(self, codec: str, model: str | None = None) -> str:
        from pipeline.codec.model.registry import get_spec  # torch: a dsin camera has the extra

        return get_spec(model or None).model_id

    def top_quality(self, codec: str, model: str | None = None) -> int:
        from pipeline.codec.model.registry import get_spec

        return get_spec(model or None).config.levels

    def make_encoder(
        self, codec: str, model: str | None = None, weights: WeightsFile | None = None
    ) -> Encoder:
        from pipeline.codec.model.encoder import ImageEncoder  # torch: the `learned` extra
        from pipeline.codec.model.registry import load_file

        if weights is None:
            return ImageEncoder(model)
        return ImageEncoder(loaded=load_file(weights.path, widths_from_file=True))

    def read_view(self, header, strings, models, limits, pixels=None):
        from pipeline.codec.decode.latents import read_latents

        entry = models.dsin(header.model_id, header.weights_hash)
        return read_latents(header, strings, entry, limits, self)

    def si_finder(self, view, default):
        return default or view.entry.loaded.spec.config.si_finder

    def si_net(self, views, x, y_syn, confidence, ensemble):
        from pipeline.codec.decode.latents import fuse_latents

        return fuse_latents(views, x, y_syn, confidence, ensemble)


class StandardFamily(CodecFamily):
    """The standard image codecs: a file decoded to pixels, fused by the standard SI-Net."""

    def model_ids(self) -> tuple[str, ...]:
        return tuple(STANDARD_MODELS)

    def weights_of_model(self, model_id: str) -> str:
        return STANDARD_MODELS[model_id].weights

    def model_id(self, codec: str, model: str | None = None) -> str:
        spec = STANDARD_MODELS.get(model or standard_model_id(codec))
        if spec is None or spec.codec != codec:
            raise WeightsError(f"{model!r} is not a registered model of codec {codec}")
        return spec.model_id

    def top_quality(self, codec: str, model: str | None = None) -> int:
        return 100

    def make_encoder(
        self, codec: str, model: str | None = None, weights: WeightsFile | None = None
    ) -> Encoder:
        return StandardEncoder(codec, model, weights.digest if weights else "")

    def read_view(self, header, strings, models, limits, pixels=None):
        from pipeline.codec.decode.pixels import read_pixels

        spec = STANDARD_MODELS[header.model_id]
        entry = models.standard(spec.weights, header.model_id, header.weights_hash)
        return read_pixels(header, strings, spec.codec, entry, limits, self)

    def si_finder(self, view, default):
        return view.entry.net.config.si_finder

    def si_net(self, views, x, y_syn, confidence, ensemble):
        from pipeline.codec.decode.pixels import fuse_pixels

        return fuse_pixels(views, x, y_syn, confidence, ensemble)


class VideoFamily(StandardFamily):
    """The video codecs (``h264``, ``hevc``, ``av1``): a stream decoded once per frame, in order,
    at receive (:mod:`decoder_node.streams`), whose pixels then go the standard codecs' way,
    fused by the video SI-Net (``si-std2``) told the codec and the quality ``100 - crf``."""

    def model_ids(self) -> tuple[str, ...]:
        return tuple(VIDEO_MODELS)

    def weights_of_model(self, model_id: str) -> str:
        return VIDEO_MODELS[model_id].weights

    def model_id(self, codec: str, model: str | None = None) -> str:
        from pipeline.codec.video.camera import video_model_id

        spec = VIDEO_MODELS.get(model or video_model_id(codec))
        if spec is None or spec.codec != codec:
            raise WeightsError(f"{model!r} is not a registered model of codec {codec}")
        return spec.model_id

    def stream_codec(self, model_id: str) -> str | None:
        spec = VIDEO_MODELS.get(model_id)
        return None if spec is None else spec.codec

    def read_view(self, header, strings, models, limits, pixels=None):
        """The view's frame as decoded at receive, in its stream (never decoded again here:
        a second decode would break the stream's reference chain); CorruptBitstreamError when
        no frame came with the container."""
        from pipeline.codec.decode.pixels import given_pixels

        if pixels is None:
            raise CorruptBitstreamError(
                f"a {header.model_id} view is decoded at receive, in its stream: no frame came "
                "with this container"
            )
        spec = VIDEO_MODELS[header.model_id]
        entry = models.standard(spec.weights, header.model_id, header.weights_hash)
        return given_pixels(header, pixels, spec.codec, entry, limits, self)

    def top_quality(self, codec: str, model: str | None = None) -> int:
        from pipeline.codec.video.settings import CRF_RANGE, quality_of_crf

        return quality_of_crf(CRF_RANGE[codec][0])

    def make_encoder(
        self,
        codec: str,
        model: str | None = None,
        weights: WeightsFile | None = None,
        settings: VideoSettings | None = None,
    ) -> Encoder:
        """A :class:`~pipeline.codec.video.camera.VideoCameraEncoder`; ``settings``: the
        camera's ``[video]`` table (None: the codec's defaults)."""
        from pipeline.codec.video.camera import VideoCameraEncoder  # PyAV: the `video` extra
        from pipeline.codec.video.settings import VideoSettings

        settings = settings or VideoSettings(codec=codec)
        if settings.codec != codec:
            raise ValueError(f"video settings for {settings.codec}, camera codec {codec}")
        return VideoCameraEncoder(settings, model, weights.digest if weights else "")


LEARNED = LearnedFamily("learned", ("dsin",), encodes_with_torch=True, synthesised=True)
STANDARD = StandardFamily("standard", CODEC_NAMES, encodes_with_torch=False, synthesised=False)
VIDEO = VideoFamily("video", VIDEO_CODECS, encodes_with_torch=False, synthesised=False)
FAMILIES: tuple[CodecFamily, ...] = (LEARNED, STANDARD, VIDEO)


def family_of_codec(codec: str) -> CodecFamily:
    """The family of camera codec ``codec``; ValueError naming the camera codecs if none."""
    for family in FAMILIES:
        if codec in family.codecs:
            return family
    raise ValueError(f"unknown codec {codec!r}; camera codecs: {', '.join(CAMERA_CODECS)}")


def family_of_model(model_id: str) -> CodecFamily | None:
    """The family whose bitstreams carry ``model_id`` (None: no family this build knows)."""
    return next((family for family in FAMILIES if family.serves_model(model_id)), None)


def family_of_weights(name: str) -> CodecFamily:
    """The family of weights files named ``name`` (:func:`pipeline.codec.weights.known_names`)."""
    for family in FAMILIES:
        if family.serves_weights(name):
            return family
    raise WeightsError(f"{name!r} is not a weights name this build knows")


def weights_of_model(model_id: str) -> str:
    """The weights name that decodes ``model_id`` (the id itself when no family knows it)."""
    family = family_of_model(model_id)
    return model_id if family is None else family.weights_of_model(model_id)


def make_encoder(
    codec: str = "dsin", model: str | None = None, weights: WeightsFile | None = None
) -> Encoder:
    """The encoder of a camera codec (``CAMERA_CODECS``); ``model`` a registry id or None;
    ``weights``: the file to encode with (:func:`pipeline.codec.weights.select`; None: the
    built-in one): the learned model's weights, or the SI-Net whose hash standard containers
    name."""
    return family_of_codec(codec).make_encoder(codec, model, weights)
