"""The GPU-host decoder: bitstreams to images, the primary view with side information.

Decoding is split in two phases so a daemon can overlap them: :meth:`StereoDecoder.entropy_decode`
(CPU: container checks, then rANS and the integer hyper-synthesis for the learned codec, or the
file decoding of a standard codec; :mod:`pipeline.codec.views`) and
:meth:`StereoDecoder.reconstruct` (the model's device: synthesis, then SI-Finder and SI-Net,
:mod:`pipeline.codec.fusion`), each batched over pairs. The left and right views of a pair may
come from different codecs.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from torch import Tensor

from pipeline.codec.api import DecodedBatch, DecodedPair, DecodeRequest, StageSeconds
from pipeline.codec.fusion import SideInformation, chunked, reduced
from pipeline.codec.images import check_image, to_image, to_tensor
from pipeline.codec.installed import installed
from pipeline.codec.limits import ImageLimits
from pipeline.codec.model_set import load_model_set
from pipeline.codec.registry import STANDARD_MODELS, LoadedModel, load
from pipeline.codec.si_finder import SIFinderConfig
from pipeline.codec.si_net import ENSEMBLE_SIZES
from pipeline.codec.views import Pixels, View, ViewReader


@dataclass
class EntropyDecoded:
    """Output of :meth:`StereoDecoder.entropy_decode`: (primary, side) latents per request."""

    items: list[tuple[View | None, View | None]]
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


Precision = Literal["auto", "float32", "bfloat16"]


def resolve_precision(
    precision: Precision, device: torch.device, deterministic: bool
) -> torch.dtype:
    """The dtype the synthesis and the SI-Net run in: bfloat16 where the hardware computes it
    natively ("auto": CUDA with bf16, or a CPU whose oneDNN has bf16 kernels, as AVX512-BF16 and
    AMX give), else float32; float32 always in deterministic mode. The SI-Finder and the
    entropy decoding are never reduced."""
    if precision not in ("auto", "float32", "bfloat16"):
        raise ValueError(f"precision: 'auto', 'float32' or 'bfloat16', not {precision!r}")
    if deterministic or precision == "float32":
        return torch.float32
    if precision == "bfloat16":
        return torch.bfloat16
    if device.type == "cuda":
        native = torch.cuda.is_bf16_supported()
    else:
        native = device.type == "cpu" and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    return torch.bfloat16 if native else torch.float32


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
        precision: Precision = "auto",
        entropy_workers: int = 0,
        weights_dir: Path | None = None,
    ) -> None:
        """``deterministic``: on the CPU, avoid oneDNN convolutions so that the output is
        bit-identical for any thread count and batch composition (about 3x slower SI-Net).
        The latents are bit-exact in every mode; this only concerns the float synthesis.
        ``self_ensemble`` (1, 2, 4, 8): SI-Net passes over flips and transposes, averaged
        (:class:`pipeline.codec.si_net.SINet`); each costs one more SI-Net pass. ``"auto"``:
        :data:`AUTO_ENSEMBLE` for the device (8 on CUDA, 1 on the CPU). ``limits``: the
        largest image decoded (:class:`ImageLimits` defaults); a bitstream that declares a
        larger one raises ``ImageTooLargeError`` before anything is allocated. ``precision``:
        the synthesis' and SI-Net's dtype (:func:`resolve_precision`; bfloat16 runs them 2-4
        times faster on a CPU with AVX512-BF16 and moves PSNR by 0.03 dB at most, measured).
        ``entropy_workers``: threads that entropy-decode the views of a batch (0: one per
        CPU core). ``weights_dir``: a folder of more weights sets to serve besides the built-in
        ones (:mod:`pipeline.codec.installed`); each bitstream is decoded with the set its
        header names. ``model``/``loaded``: the default learned model (``model_id``)."""
        self.entropy_workers = entropy_workers or os.cpu_count() or 1
        self._executor: ThreadPoolExecutor | None = None
        self.limits = limits or ImageLimits()
        self.device = resolve_device(device)
        self.self_ensemble = resolve_ensemble(self_ensemble, self.device)
        self.deterministic = deterministic
        self.dtype = resolve_precision(precision, self.device, deterministic)
        # not deterministic: oneDNN and cuDNN run NHWC convolutions faster (1.3-1.5x here)
        self.models = load_model_set(
            installed(weights_dir), self.device, loaded or load(model), not deterministic
        )
        self.si_finder = si_finder or self.models.default.loaded.spec.config.si_finder
        self._reader = ViewReader(self.models, self.limits)

    @property
    def model_id(self) -> str:
        """The registry id of the default learned model."""
        return self.models.default.loaded.spec.model_id

    @property
    def standard_weights_hash(self) -> str | None:
        """The hash of the built-in standard-codec SI-Net, or the first other one held (None:
        it holds none)."""
        standard = {spec.weights for spec in STANDARD_MODELS.values()}
        return next((h for name, h in self.models.held() if name in standard), None)

    def decode_batch(self, requests: Sequence[DecodeRequest]) -> DecodedBatch:
        """Both phases; raises a BitstreamError subclass if any bitstream is bad."""
        decoded = self.entropy_decode(requests)
        return self.reconstruct(decoded)

    def entropy_decode(self, requests: Sequence[DecodeRequest]) -> EntropyDecoded:
        """Parse, check and rANS-decode every bitstream of the batch (CPU), the views on
        ``entropy_workers`` threads at once (the rANS decoder and the image libraries release
        the GIL); the first bad bitstream's error is raised."""
        start = time.perf_counter()
        if any(r.primary is None and r.side is None for r in requests):
            raise ValueError("a DecodeRequest needs a primary or a side bitstream")
        streams = [data for r in requests for data in (r.primary, r.side)]
        views = (
            list(self._pool().map(self._read, streams))
            if len(streams) > 2
            else [self._read(data) for data in streams]
        )
        items = list(zip(views[0::2], views[1::2], strict=True))
        side_images = [
            None if r.side_image is None else to_tensor(check_image(r.side_image)) for r in requests
        ]
        return EntropyDecoded(items, side_images, time.perf_counter() - start)

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.entropy_workers, "entropy")
        return self._executor

    def reconstruct(self, decoded: EntropyDecoded) -> DecodedBatch:
        """Synthesis, SI-Finder and SI-Net on the model's device; images back as numpy."""
        with torch.no_grad(), _onednn(enabled=not self.deterministic):
            return self._reconstruct(decoded)

    def _reconstruct(self, decoded: EntropyDecoded) -> DecodedBatch:
        seconds = StageSeconds(entropy_decode=decoded.seconds)
        flat = [view for pair in decoded.items for view in pair if view is not None]
        images = self._timed(seconds, "synthesis", lambda: self._synthesise(flat))
        x_dec = dict(zip(map(id, flat), images, strict=True))
        alone = [x_dec[id(p)] if p is not None else None for p, _ in decoded.items]
        rights = [x_dec[id(s)] if s is not None else None for _, s in decoded.items]
        references = [
            r if image is None else image.to(self.device)
            for r, image in zip(rights, decoded.side_images, strict=True)
        ]
        side_information = SideInformation(
            self.si_finder, self.self_ensemble, self.device, self.dtype
        )
        fused = side_information.fuse(
            alone,
            references,
            [p for p, _ in decoded.items],
            lambda stage, work: self._timed(seconds, stage, work),
        )
        return DecodedBatch(
            [
                self._to_pair(p, s, left, a, r)
                for (p, s), left, a, r in zip(decoded.items, fused, alone, rights, strict=True)
            ],
            seconds,
        )

    def _read(self, data: bytes | None) -> View | None:
        return None if data is None else self._reader.read(data)

    def _synthesise(self, flat: list[View]) -> list[Tensor]:
        """X_dec of every view: g_s over learned latents grouped by weights set and shape (each
        cropped to its image size); a standard view's decoded pixels moved to the device."""
        groups: dict[tuple, list[int]] = defaultdict(list)
        out: list[Tensor | None] = [None] * len(flat)
        for index, view in enumerate(flat):
            if isinstance(view, Pixels):
                out[index] = view.image.to(self.device)
            else:
                groups[(id(view.entry), *view.y_hat.shape)].append(index)
        runs = [
            part
            for shape, indexes in groups.items()
            for part in chunked(indexes, shape[-2] * shape[-1] * 256, self.device)
        ]
        for indexes in runs:
            y = torch.stack([flat[i].y_hat for i in indexes]).to(self.device)
            if not self.deterministic:
                y = y.contiguous(memory_format=torch.channels_last)
            levels = torch.tensor([flat[i].level for i in indexes], device=self.device)
            with reduced(self.device, self.dtype):
                images = flat[indexes[0]].entry.model.synthesise(y, levels).float()
            for i, x in zip(indexes, images, strict=True):
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
        primary: View | None,
        side: View | None,
        left: Tensor | None,
        left_alone: Tensor | None,
        right: Tensor | None,
    ) -> DecodedPair:
        def image(t: Tensor | None, view: View | None):
            return None if t is None or view is None else to_image(t, view.header.channels)

        return DecodedPair(image(left, primary), image(left_alone, primary), image(right, side))
