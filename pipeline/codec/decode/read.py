"""Decode stage 1 (``entropy_decode``) for one view: container checks, then its family's reader.

A learned-codec (``dsin``) view becomes :class:`~pipeline.codec.decode.latents.Latents` (rANS
decoding and the exact integer hyper-synthesis; the synthesis runs later on the model's device);
a standard-codec view becomes :class:`~pipeline.codec.decode.pixels.Pixels` (its JPEG, WebP or
AVIF file decoded on the CPU; a video view's frame, decoded at receive in its stream, is taken as
it is). Both run on the CPU, in the daemon's entropy-decoding thread.
Every check runs before any allocation sized by the bitstream: the container (magic, version,
length, CRC), the model id and weights hash, the image limits, the string count; errors are
typed :class:`~pipeline.codec.bitstream.errors.BitstreamError` subclasses.
"""

from __future__ import annotations

import numpy as np

from pipeline.codec.bitstream.container import parse
from pipeline.codec.bitstream.limits import ImageLimits
from pipeline.codec.decode.latents import Latents
from pipeline.codec.decode.model_set import ModelSet
from pipeline.codec.decode.pixels import Pixels
from pipeline.codec.family import family_of_model

View = Latents | Pixels


class ViewReader:
    """Turns one container into a :data:`View`, with the weights set its header names
    (:class:`ModelSet`; a set it does not hold raises ``ModelMismatchError``)."""

    def __init__(self, models: ModelSet, limits: ImageLimits) -> None:
        self._models = models
        self._limits = limits

    def read(self, data: bytes, pixels: np.ndarray | None = None) -> View:
        """Check and decode one container; raises a ``BitstreamError`` subclass. ``pixels``:
        the view's frame when it was decoded at receive (a video stream's)."""
        bitstream = parse(data)
        header = bitstream.header
        family = family_of_model(header.model_id)
        if family is None:
            raise self._models.mismatch(header.model_id, header.weights_hash)
        return family.read_view(header, bitstream.strings, self._models, self._limits, pixels)
