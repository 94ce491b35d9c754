"""The GPU-host decoder: bitstreams to images, the primary view with side information.

Decoding is split in two phases so a daemon can overlap them: :meth:`StereoDecoder.entropy_decode`
(CPU: container checks, rANS, the integer hyper-synthesis) and :meth:`StereoDecoder.reconstruct`
(the model's device: synthesis, SI-Finder, SI-Net), each batched over pairs.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from pipeline.codec.api import DecodedBatch, DecodedPair, DecodeRequest, StageSeconds
from pipeline.codec.container import BitstreamHeader, parse
from pipeline.codec.entropy import LatentCoder
from pipeline.codec.errors import CorruptBitstreamError, ModelMismatchError
from pipeline.codec.images import check_image, padded_size, to_image, to_tensor
from pipeline.codec.limits import ImageLimits
from pipeline.codec.model import PAD_MULTIPLE
from pipeline.codec.registry import LoadedModel, load
from pipeline.codec.si_finder import SIFinderConfig, find_with_confidence
from pipeline.codec.si_net import ENSEMBLE_SIZES


@dataclass
class Latents:
    """One entropy-decoded image: dequantised gained latents (CPU) and its header."""

    header: BitstreamHeader
    y_hat: Tensor

    @property
    def level(self) -> int:
        """Zero-based quality level."""
        return self.header.quality - 1


@dataclass
class EntropyDecoded:
    """Output of :meth:`StereoDecoder.entropy_decode`: (primary, side) latents per request."""

    items: list[tuple[Latents | None, Latents | None]]
    side_images: list[Tensor | None]
    seconds: float


@contextlib.contextmanager
def _onednn(enabled: bool) -> Iterator[None]:
    """Switch oneDNN (mkldnn) CPU kernels on or off for a block."""
    before = torch._C._get_mkldnn_enabled()
    torch._C._set_mkldnn_enabled(enabled)
    try:
        yield
    finally:
        torch._C._set_mkldnn_enabled(before)


def resolve_device(device: str) -> torch.device:
    """'auto' is CUDA when available, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


#: SI-Net passes that ``self_ensemble="auto"`` runs: the full ensemble where a pass is cheap
#: (about 1.3 ms a pair on an H100 at 752x480), none on the CPU (0.7 s a pass at 1344x372 on
#: 2 cores).
AUTO_ENSEMBLE = {"cuda": 8}


def resolve_ensemble(self_ensemble: int | Literal["auto"], device: torch.device) -> int:
    """The SI-Net self-ensemble size to run on ``device``; ValueError for a size not offered."""
    if self_ensemble == "auto":
        return AUTO_ENSEMBLE.get(device.type, 1)
    if isinstance(self_ensemble, bool) or self_ensemble not in ENSEMBLE_SIZES:
        raise ValueError(f"self_ensemble: 'auto' or one of {ENSEMBLE_SIZES}, not {self_ensemble!r}")
    return self_ensemble


class StereoDecoder:
    """Decodes batches of stereo pairs (either view may be missing) on one device."""

    def __init__(
        self,
        model: str | None = None,
        device: str = "auto",
        si_finder: SIFinderConfig | None = None,
        loaded: LoadedModel | None = None,
        deterministic: bool = False,
        self_ensemble: int | Literal["auto"] = "auto",
        limits: ImageLimits | None = None,
    ) -> None:
        """``deterministic``: on the CPU, avoid oneDNN convolutions so that the output is
        bit-identical for any thread count and batch composition (about 3x slower SI-Net).
        The latents are bit-exact in every mode; this only concerns the float synthesis.
        ``self_ensemble`` (1, 2, 4, 8): SI-Net passes over flips and transposes, averaged
        (:class:`pipeline.codec.si_net.SINet`); each costs one more SI-Net pass. ``"auto"``:
        :data:`AUTO_ENSEMBLE` for the device (8 on CUDA, 1 on the CPU). ``limits``: the
        largest image decoded (:class:`ImageLimits` defaults); a bitstream that declares a
        larger one raises ``ImageTooLargeError`` before anything is allocated."""
        self.limits = limits or ImageLimits()
        self.device = resolve_device(device)
        self.self_ensemble = resolve_ensemble(self_ensemble, self.device)
        self._loaded = loaded or load(model)
        self.deterministic = deterministic
        self._cpu_model = self._loaded.model
        self._model = self._cpu_model
        if self.device.type != "cpu":
            self._model = copy.deepcopy(self._cpu_model).to(self.device)
        self.si_finder = si_finder or self._loaded.spec.config.si_finder
        config = self._cpu_model.config
        self._coder = LatentCoder(
            self._cpu_model.entropy_bottleneck, self._cpu_model.gaussian_conditional, config.groups
        )

    @property
    def model_id(self) -> str:
        """The registry id of the loaded model."""
        return self._loaded.spec.model_id

    def decode_batch(self, requests: Sequence[DecodeRequest]) -> DecodedBatch:
        """Both phases; raises a BitstreamError subclass if any bitstream is bad."""
        decoded = self.entropy_decode(requests)
        return self.reconstruct(decoded)

    def entropy_decode(self, requests: Sequence[DecodeRequest]) -> EntropyDecoded:
        """Parse, check and rANS-decode every bitstream of the batch (CPU)."""
        start = time.perf_counter()
        items, side_images = [], []
        for request in requests:
            if request.primary is None and request.side is None:
                raise ValueError("a DecodeRequest needs a primary or a side bitstream")
            items.append((self._latents(request.primary), self._latents(request.side)))
            side_images.append(
                None if request.side_image is None else to_tensor(check_image(request.side_image))
            )
        return EntropyDecoded(items, side_images, time.perf_counter() - start)

    def reconstruct(self, decoded: EntropyDecoded) -> DecodedBatch:
        """Synthesis, SI-Finder and SI-Net on the model's device; images back as numpy."""
        with torch.no_grad(), _onednn(enabled=not self.deterministic):
            return self._reconstruct(decoded)

    def _reconstruct(self, decoded: EntropyDecoded) -> DecodedBatch:
        seconds = StageSeconds(entropy_decode=decoded.seconds)
        flat = [lat for pair in decoded.items for lat in pair if lat is not None]
        images = self._timed(seconds, "synthesis", lambda: self._synthesise(flat))
        x_dec = dict(zip(map(id, flat), images, strict=True))
        alone = [x_dec[id(p)] if p is not None else None for p, _ in decoded.items]
        rights = [x_dec[id(s)] if s is not None else None for _, s in decoded.items]
        references = [
            r if image is None else image.to(self.device)
            for r, image in zip(rights, decoded.side_images, strict=True)
        ]
        levels = [p.level if p is not None else 0 for p, _ in decoded.items]
        fused = self._fuse(alone, references, levels, seconds)
        return DecodedBatch(
            [
                self._to_pair(p, s, left, a, r)
                for (p, s), left, a, r in zip(decoded.items, fused, alone, rights, strict=True)
            ],
            seconds,
        )

    def _fuse(
        self,
        alone: list[Tensor | None],
        references: list[Tensor | None],
        levels: list[int],
        seconds: StageSeconds,
    ) -> list[Tensor | None]:
        """X_hat for every pair that has both views: SI-Finder per pair, SI-Net per shape group.

        ``levels`` are the primary views' zero-based quality levels (the SI-Net's scales).
        """
        fused = list(alone)
        both = [
            i
            for i, (a, r) in enumerate(zip(alone, references, strict=True))
            if a is not None and r is not None
        ]
        found = self._timed(
            seconds,
            "si_finder",
            lambda: {
                i: find_with_confidence(alone[i], references[i], self.si_finder) for i in both
            },
        )
        groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for i in both:
            groups[tuple(alone[i].shape)].append(i)
        for indexes in groups.values():
            x_hat = self._timed(
                seconds,
                "si_net",
                lambda ix=indexes: self._model.si_net(
                    torch.stack([alone[i] for i in ix]),
                    torch.stack([found[i][0] for i in ix]),
                    torch.tensor([levels[i] for i in ix], device=self.device),
                    torch.stack([found[i][1] for i in ix]),
                    ensemble=self.self_ensemble,
                ),
            )
            for i, x in zip(indexes, x_hat, strict=True):
                fused[i] = x
        return fused

    def _latents(self, data: bytes | None) -> Latents | None:
        if data is None:
            return None
        bitstream = parse(data)
        header = self._check_header(bitstream.header)
        self.limits.check(header.height, header.width)
        height, width = padded_size(header.height, header.width, PAD_MULTIPLE)
        z_shape = (self._cpu_model.config.nz, height // PAD_MULTIPLE, width // PAD_MULTIPLE)
        if len(bitstream.strings) != 1 + self._coder.groups:
            raise CorruptBitstreamError(
                f"bitstream holds {len(bitstream.strings)} strings, the model codes "
                f"{1 + self._coder.groups}"
            )
        z = self._coder.decode_z(bitstream.strings[0], z_shape)
        params = self._cpu_model.entropy_parameters(z[None])
        symbols = self._coder.decode_y(list(bitstream.strings[1:]), params.indexes[0])
        return Latents(header, symbols.to(torch.float32) + params.means[0])

    def _check_header(self, header: BitstreamHeader) -> BitstreamHeader:
        if header.model_id != self.model_id or header.weights_hash != self._loaded.weights_hash:
            raise ModelMismatchError(
                f"bitstream made with model {header.model_id} weights {header.weights_hash}; "
                f"this decoder has {self.model_id} weights {self._loaded.weights_hash}"
            )
        if header.quality > self._cpu_model.config.levels:
            raise CorruptBitstreamError(f"quality {header.quality} out of range for this model")
        return header

    def _synthesise(self, flat: list[Latents]) -> list[Tensor]:
        """g_s over latents grouped by shape; each X_dec cropped to its image size."""
        groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for index, lat in enumerate(flat):
            groups[tuple(lat.y_hat.shape)].append(index)
        out: list[Tensor | None] = [None] * len(flat)
        for indexes in groups.values():
            y = torch.stack([flat[i].y_hat for i in indexes]).to(self.device)
            levels = torch.tensor([flat[i].level for i in indexes], device=self.device)
            for i, x in zip(indexes, self._model.synthesise(y, levels), strict=True):
                out[i] = x[:, : flat[i].header.height, : flat[i].header.width]
        return out  # type: ignore[return-value]

    def _timed(self, seconds: StageSeconds, stage: str, work: Callable[[], object]) -> object:
        start = time.perf_counter()
        result = work()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        setattr(seconds, stage, getattr(seconds, stage) + time.perf_counter() - start)
        return result

    @staticmethod
    def _to_pair(
        primary: Latents | None,
        side: Latents | None,
        left: Tensor | None,
        left_alone: Tensor | None,
        right: Tensor | None,
    ) -> DecodedPair:
        def image(t: Tensor | None, lat: Latents | None):
            return None if t is None or lat is None else to_image(t, lat.header.channels)

        return DecodedPair(image(left, primary), image(left_alone, primary), image(right, side))
