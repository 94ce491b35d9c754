"""Side information for a video frame in the evaluation: the decoder's own path, in two steps.

A video frame reaches the decoder's SI stages as pixels (decoded at receive, per stream), so its
side information is what :class:`pipeline.codec.decode.side_information.SideInformation` does
for any pixel view: the SI-Finder (:func:`pipeline.codec.model.fusion.find`, with the settings
:meth:`pipeline.codec.family.VIDEO.si_finder` gives) on the decoded left view against the
decoded right view, then :meth:`~pipeline.codec.family.VIDEO.si_net` (the ``si-std2`` SI-Net
told the codec and the quality ``100 - crf`` its container carries), on the decoder's device
and precision. The two steps are apart here because the SI-Finder's result does not depend on
the SI-Net's weights: the evaluation stores it and a run with new weights reuses it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from pipeline.codec.bitstream.container import parse
from pipeline.codec.decode.device import (
    onednn,
    reduced,
    resolve_device,
    resolve_ensemble,
    resolve_precision,
)
from pipeline.codec.decode.model_set import StandardEntry
from pipeline.codec.decode.pixels import Pixels
from pipeline.codec.family import VIDEO
from pipeline.codec.model.fusion import find
from pipeline.codec.model.si_finder import SIFinderConfig
from pipeline.codec.model.si_standard import load_standard_file
from pipeline.codec.model.tensors import to_image, to_tensor
from pipeline.codec.weights import VIDEO_MODELS, VIDEO_SI_WEIGHTS, WEIGHTS_DIR, weights_path
from pipeline.evaluation.coded_pair import match_channels


class VideoSI:
    """The video SI-Net (``si-std2``) on the decoder's device, and the SI-Finder it is fed by."""

    def __init__(
        self,
        device: str = "auto",
        self_ensemble: int | Literal["auto"] = "auto",
        weights_dir: Path | None = None,
    ) -> None:
        """``weights_dir``: take ``si-std2`` from that folder when it holds one (else the
        package's file)."""
        directory = weights_dir if _holds_video_weights(weights_dir) else WEIGHTS_DIR
        net, digest = load_standard_file(weights_path(VIDEO_SI_WEIGHTS, directory))
        self.device = resolve_device(device)
        self.ensemble = resolve_ensemble(self_ensemble, self.device)
        self.dtype = resolve_precision("auto", self.device, deterministic=False)
        net = net.to(self.device).to(memory_format=torch.channels_last)
        self.entry = StandardEntry(VIDEO_SI_WEIGHTS, net, digest)

    @property
    def weights_hash(self) -> str:
        """The hash of the ``si-std2`` file in use."""
        return self.entry.weights_hash

    @property
    def finder(self) -> SIFinderConfig:
        """The SI-Finder settings the decoder uses for a video view."""
        return self.entry.net.config.si_finder

    def find(self, left_dec: np.ndarray, right_dec: np.ndarray) -> tuple[Tensor, Tensor]:
        """Y_syn (3, H, W) and the match confidence (1, H, W) of the decoded left view."""
        x_dec = to_tensor(left_dec).to(self.device)
        with torch.no_grad(), onednn(enabled=True):
            return find(x_dec, to_tensor(right_dec).to(self.device), self.finder)

    def fuse(
        self, container: bytes, left_dec: np.ndarray, y_syn: Tensor, confidence: Tensor
    ) -> np.ndarray:
        """The left view decoded with side information, in ``left_dec``'s layout: the SI-Net
        told the codec and quality of ``container`` (the camera's container of that frame)."""
        header = parse(container).header
        codec = VIDEO_MODELS[header.model_id].codec
        x_dec = to_tensor(left_dec).to(self.device)
        view = Pixels(header, x_dec, codec, self.entry, VIDEO)
        inputs = (x_dec[None], y_syn[None].to(self.device), confidence[None].to(self.device))
        with torch.no_grad(), onednn(enabled=True), reduced(self.device, self.dtype):
            fused = VIDEO.si_net([view], *inputs, self.ensemble).float()
        return match_channels(to_image(fused[0], header.channels), left_dec)


def _holds_video_weights(directory: Path | None) -> bool:
    return directory is not None and any(directory.glob(f"{VIDEO_SI_WEIGHTS}-*.pt"))
