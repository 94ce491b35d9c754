"""The GPU-host decoder: bitstreams to images, the primary view with side information.

Decoding is split in two phases so a daemon can overlap them: :meth:`StereoDecoder.entropy_decode`
(CPU, stage 1: container checks, then rANS and the integer hyper-synthesis for the learned
codec, or the file decoding of a standard codec; :mod:`pipeline.codec.decode.read`) and
:meth:`StereoDecoder.reconstruct` (the model's device: the synthesis,
:mod:`pipeline.codec.decode.synthesis`, then SI-Finder and SI-Net,
:mod:`pipeline.codec.decode.side_information`), each batched over pairs. The left and right
views of a pair may come from different codecs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from pipeline.codec.api import (
    DecodedBatch,
    DecodedPair,
    DecodeRequest,
    StageSeconds,
    StreamPosition,
)
from pipeline.codec.bitstream.limits import ImageLimits
from pipeline.codec.decode.device import (
    Precision,
    intra_op_threads,
    onednn,
    resolve_device,
    resolve_ensemble,
    resolve_precision,
)
from pipeline.codec.decode.model_set import load_model_set
from pipeline.codec.decode.read import View, ViewReader
from pipeline.codec.decode.side_information import EarlySearch, SideInformation
from pipeline.codec.decode.synthesis import synthesise
from pipeline.codec.decode.tracks import Tracks
from pipeline.codec.family import LEARNED, STANDARD, VIDEO
from pipeline.codec.inputs import check_image
from pipeline.codec.model.registry import LoadedModel, load
from pipeline.codec.model.si_finder import SIFinderConfig
from pipeline.codec.model.si_track import DEFAULT_WARM_START, WarmStart
from pipeline.codec.model.tensors import to_image, to_tensor
from pipeline.codec.weights import installed

EARLY_SEARCH_THREADS = 1
"""Torch CPU threads of the SI-Finder's early search (:meth:`StereoDecoder.entropy_decode`): it
runs beside the model's SI-Net, which takes every core; one thread spends no CPU on waking
others for its many small operations (a 640x480 H.264 rig at 5 fps on 2 cores, before the grid
threads: p99 1.9 against 2.8 s with two threads, one run each on a shared machine)."""


GRID_THREADS = 2
"""Threads that search the SI-Finder's block grids of an image at once on a CPU decoder (the
grids are independent; the search is a few hundred small operations, which one thread cannot
spread over the cores)."""


@dataclass
class EntropyDecoded:
    """Output of :meth:`StereoDecoder.entropy_decode`: (primary, side) latents per request."""

    items: list[tuple[View | None, View | None]]
    side_images: list[Tensor | None]
    seconds: float
    positions: list[StreamPosition | None] = field(default_factory=list)
    early: EarlySearch | None = None
    """The SI-Finder's results of the pixel pairs, on a CPU decoder (``seconds`` excludes them)."""


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
        warm_start: WarmStart | None = DEFAULT_WARM_START,
    ) -> None:
        """``deterministic``: on the CPU, avoid oneDNN convolutions so that the output is
        bit-identical for any thread count and batch composition (about 3x slower SI-Net).
        The latents are bit-exact in every mode; this only concerns the float synthesis.
        ``self_ensemble`` (1, 2, 4, 8): SI-Net passes over flips and transposes, averaged
        (:class:`pipeline.codec.model.si_net.SINet`); each costs one more SI-Net pass. ``"auto"``:
        :data:`AUTO_ENSEMBLE` for the device (8 on CUDA, 1 on the CPU). ``limits``: the
        largest image decoded (:class:`ImageLimits` defaults); a bitstream that declares a
        larger one raises ``ImageTooLargeError`` before anything is allocated. ``precision``:
        the synthesis' and SI-Net's dtype (:func:`resolve_precision`; bfloat16 runs them 2-4
        times faster on a CPU with AVX512-BF16 and moves PSNR by 0.03 dB at most, measured).
        ``entropy_workers``: threads that entropy-decode the views of a batch (0: one per
        CPU core). ``weights_dir``: a folder of more weights sets to serve besides the built-in
        ones (:mod:`pipeline.codec.weights`); each bitstream is decoded with the set its
        header names. ``model``/``loaded``: the default learned model (``model_id``).
        ``warm_start``: how the SI-Finder searches a pair whose request gives its place in a
        stream (:class:`~pipeline.codec.api.StreamPosition`): near the matches of the stream's
        previous pair (None: every pair a whole search); :meth:`forget` frees a stream's."""
        self.entropy_workers = entropy_workers or os.cpu_count() or 1
        self.threads = torch.get_num_threads()
        """Torch CPU threads of :meth:`reconstruct`: the count when the decoder was made."""
        self._executor: ThreadPoolExecutor | None = None
        self._grid_pool: ThreadPoolExecutor | None = None
        self.limits = limits or ImageLimits()
        self.device = resolve_device(device)
        self.self_ensemble = resolve_ensemble(self_ensemble, self.device)
        self.deterministic = deterministic
        self.dtype = resolve_precision(precision, self.device, deterministic)
        # not deterministic: oneDNN and cuDNN run NHWC convolutions faster (1.3-1.5x here), and
        # on a CPU the standard-codec SI-Nets fuse each convolution with its LeakyReLU
        files = installed(weights_dir)
        self.models = load_model_set(
            [f for f in files if LEARNED.serves_weights(f.name)],
            [f for f in files if any(fam.serves_weights(f.name) for fam in (STANDARD, VIDEO))],
            self.device,
            loaded or load(model),
            not deterministic,
            None if deterministic or self.device.type != "cpu" else self.dtype,
        )
        self.si_finder = si_finder or self.models.default.loaded.spec.config.si_finder
        self._reader = ViewReader(self.models, self.limits)
        self.tracks = Tracks(warm_start)

    @property
    def model_id(self) -> str:
        """The registry id of the default learned model."""
        return self.models.default.loaded.spec.model_id

    @property
    def standard_weights_hash(self) -> str | None:
        """The hash of the built-in standard-codec SI-Net, or the first other one held (None:
        it holds none)."""
        held = self.models.held()
        return next((h for name, h in held if STANDARD.serves_weights(name)), None)

    def forget(self, stream: str) -> None:
        """Free the SI-Finder's state of ``stream`` (a rig whose slot was released)."""
        self.tracks.forget(stream)

    def decode_batch(self, requests: Sequence[DecodeRequest]) -> DecodedBatch:
        """Both phases; raises a BitstreamError subclass if any bitstream is bad."""
        decoded = self.entropy_decode(requests)
        return self.reconstruct(decoded)

    def entropy_decode(self, requests: Sequence[DecodeRequest]) -> EntropyDecoded:
        """Parse, check and rANS-decode every bitstream of the batch (CPU), the views on
        ``entropy_workers`` threads at once (the rANS decoder and the image libraries release
        the GIL); the first bad bitstream's error is raised. On a CPU decoder, also the
        SI-Finder of the pairs whose views are pixels already (``EntropyDecoded.early``), so
        that a daemon's entropy thread searches while its model thread fuses."""
        start = time.perf_counter()
        if any(r.primary is None and r.side is None for r in requests):
            raise ValueError("a DecodeRequest needs a primary or a side bitstream")
        streams = [
            view
            for r in requests
            for view in ((r.primary, r.primary_pixels), (r.side, r.side_pixels))
        ]
        views = (
            list(self._pool().map(self._read, streams))
            if len(streams) > 2
            else [self._read(view) for view in streams]
        )
        items = list(zip(views[0::2], views[1::2], strict=True))
        side_images = [
            None if r.side_image is None else to_tensor(check_image(r.side_image)) for r in requests
        ]
        positions = [r.position for r in requests]
        seconds = time.perf_counter() - start
        early = None
        if self.device.type == "cpu":  # an accelerator searches faster than the CPU beside it
            with (
                torch.no_grad(),
                onednn(enabled=not self.deterministic),
                intra_op_threads(EARLY_SEARCH_THREADS),
            ):
                early = self._side_information().search_early(
                    items, side_images, lambda i: self.tracks.track(positions[i])
                )
        return EntropyDecoded(items, side_images, seconds, positions, early)

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.entropy_workers, "entropy")
        return self._executor

    def reconstruct(self, decoded: EntropyDecoded) -> DecodedBatch:
        """Synthesis, SI-Finder and SI-Net on the model's device; images back as numpy (on
        the torch CPU threads set when the decoder was made, whatever the calling thread's)."""
        with (
            torch.no_grad(),
            onednn(enabled=not self.deterministic),
            intra_op_threads(self.threads),
        ):
            return self._reconstruct(decoded)

    def _reconstruct(self, decoded: EntropyDecoded) -> DecodedBatch:
        seconds = StageSeconds(entropy_decode=decoded.seconds)
        flat = [view for pair in decoded.items for view in pair if view is not None]
        images = self._timed(seconds, "synthesis", lambda: self._synthesis(flat))
        x_dec = dict(zip(map(id, flat), images, strict=True))
        alone = [x_dec[id(p)] if p is not None else None for p, _ in decoded.items]
        rights = [x_dec[id(s)] if s is not None else None for _, s in decoded.items]
        references = [
            r if image is None else image.to(self.device)
            for r, image in zip(rights, decoded.side_images, strict=True)
        ]
        positions = decoded.positions or [None] * len(decoded.items)
        early = decoded.early or EarlySearch.none(len(alone))
        seconds.si_finder = early.seconds
        # a stream's track, for the pairs to search now (the early ones used theirs already)
        tracks = [
            self.tracks.track(position) if a is not None and r is not None and f is None else None
            for position, a, r, f in zip(positions, alone, references, early.found, strict=True)
        ]
        fused, searches = self._side_information().fuse(
            alone,
            references,
            [p for p, _ in decoded.items],
            tracks,
            lambda stage, work: self._timed(seconds, stage, work),
            early,
        )
        outputs = zip(decoded.items, fused, alone, rights, searches, strict=True)
        return DecodedBatch(
            [self._to_pair(p, s, left, a, r, how) for (p, s), left, a, r, how in outputs],
            seconds,
        )

    def _side_information(self) -> SideInformation:
        executor = None
        if self.device.type == "cpu":
            if self._grid_pool is None:  # each worker on one torch thread, as the early search
                self._grid_pool = ThreadPoolExecutor(
                    GRID_THREADS, "si-grid", initializer=torch.set_num_threads, initargs=(1,)
                )
            executor = self._grid_pool
        args = (self.si_finder, self.self_ensemble, self.device, self.dtype, executor)
        return SideInformation(*args)

    def _read(self, view: tuple[bytes | None, np.ndarray | None]) -> View | None:
        data, pixels = view
        return None if data is None else self._reader.read(data, pixels)

    def _synthesis(self, flat: list[View]) -> list[Tensor]:
        return synthesise(flat, self.device, self.dtype, channels_last=not self.deterministic)

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
        search: str | None,
    ) -> DecodedPair:
        def image(t: Tensor | None, view: View | None):
            return None if t is None or view is None else to_image(t, view.header.channels)

        left_image, alone_image = image(left, primary), image(left_alone, primary)
        return DecodedPair(left_image, alone_image, image(right, side), search)
