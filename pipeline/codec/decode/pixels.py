"""The standard family's parts of the decode stages: a JPEG, WebP or AVIF view as pixels.

Stage 1 (``entropy_decode``, CPU) decodes the container's one file (:mod:`pipeline.codec.standard`)
to X_dec, or takes the frame a video view's stream decoded at receive (:func:`given_pixels`);
there is no synthesis; stage 4 (``si_net``) is the standard-codec SI-Net
(:mod:`pipeline.codec.model.si_standard`), told the codec and the quality.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from pipeline.codec.bitstream.container import BitstreamHeader
from pipeline.codec.bitstream.errors import CorruptBitstreamError
from pipeline.codec.bitstream.limits import ImageLimits
from pipeline.codec.decode.model_set import StandardEntry
from pipeline.codec.model.tensors import to_tensor
from pipeline.codec.standard import STANDARD_CODECS

if TYPE_CHECKING:
    from pipeline.codec.family import CodecFamily


@dataclass
class Pixels:
    """One decoded standard-codec view: (3, H, W) float in [0, 1] (grey replicated), its codec,
    the standard-codec SI-Net its container names and its family."""

    header: BitstreamHeader
    image: Tensor
    codec: str
    entry: StandardEntry
    family: CodecFamily


def read_pixels(
    header: BitstreamHeader,
    strings: tuple[bytes, ...],
    codec: str,
    entry: StandardEntry,
    limits: ImageLimits,
    family: CodecFamily,
) -> Pixels:
    """Check the image size and string count, then decode the codec's file."""
    limits.check(header.height, header.width)
    if len(strings) != 1:
        raise CorruptBitstreamError(
            f"a standard-codec container holds 1 string, not {len(strings)}"
        )
    shape = (header.height, header.width)
    image = STANDARD_CODECS[codec].decode(strings[0], header.channels, shape)
    return Pixels(header, to_tensor(image), codec, entry, family)


def given_pixels(
    header: BitstreamHeader,
    image: np.ndarray,
    codec: str,
    entry: StandardEntry,
    limits: ImageLimits,
    family: CodecFamily,
) -> Pixels:
    """A view decoded before stage 1 (a video stream's frame, decoded at receive), checked
    against its container's header: uint8, the declared height, width and channels."""
    limits.check(header.height, header.width)
    size = (header.height, header.width)
    expected = size if header.channels == 1 else (*size, header.channels)
    if image.dtype != np.uint8 or image.shape != expected:
        raise CorruptBitstreamError(
            f"a {codec} frame of {image.shape} {image.dtype}, its container declares {expected}"
        )
    return Pixels(header, to_tensor(image), codec, entry, family)


def fuse_pixels(
    views: list[Pixels], x: Tensor, y_syn: Tensor, confidence: Tensor, ensemble: int
) -> Tensor:
    """The standard-codec SI-Net over a batch (one weights set, one shape)."""
    net = views[0].entry.net
    codecs = [net.codec_index(view.codec) for view in views]
    qualities = [view.header.quality for view in views]
    codecs, qualities = (torch.tensor(v, device=x.device) for v in (codecs, qualities))
    return net(x, y_syn, confidence, codecs, qualities, ensemble=ensemble)
