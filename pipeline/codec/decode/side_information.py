"""Decode stages 3 and 4 (``si_finder``, ``si_net``): SI-Finder per pair, SI-Net per group.

Every pair with both views gets Y_syn and the match confidence from the SI-Finder (X_dec
against the decoded right view, whatever codec made either), then an SI-Net pass: each left
view through its family's SI-Net (:meth:`pipeline.codec.family.CodecFamily.si_net`: a learned
view's model's guided SI-Net told the level, or the standard-codec SI-Net told the codec and
quality), with the weights set its container names.
Items are grouped by weights set and image shape so each group is one batched SI-Net call.
A pair given its stream's :class:`~pipeline.codec.model.si_track.MatchTrack` is searched near the
matches of the stream's previous pair (the batch's pairs of one stream come in order).

:meth:`SideInformation.search_early` runs the SI-Finder of the pairs whose views are pixels
already (standard and video codecs: no synthesis) at stage 1, on a CPU decoder, so that a
daemon's entropy thread searches the next batch while its model thread runs this batch's
SI-Net (:mod:`decoder_node.decode_workers`); :meth:`SideInformation.fuse` takes those results.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

import torch
from torch import Tensor

from pipeline.codec.decode.device import chunked, reduced
from pipeline.codec.decode.read import View
from pipeline.codec.model.fusion import find
from pipeline.codec.model.si_finder import SIFinderConfig
from pipeline.codec.model.si_track import MatchTrack

Timer = Callable[[str, Callable[[], object]], object]
"""``timer(stage, work)``: runs ``work`` and adds its seconds to ``stage``."""
Found = tuple[Tensor, Tensor]
"""One pair's Y_syn and match confidence."""


@dataclass
class EarlySearch:
    """The SI-Finder's results of a batch's pixel pairs, found at stage 1
    (:meth:`SideInformation.search_early`): per item, Y_syn and confidence and how it was
    searched (None: searched later, or no side information), and the seconds it took."""

    found: list[Found | None]
    searches: list[str | None]
    seconds: float = 0.0

    @classmethod
    def none(cls, count: int) -> EarlySearch:
        """No item of ``count`` searched early."""
        return cls([None] * count, [None] * count)


@dataclass
class SideInformation:
    """The searches and nets of one decoder: each view's own weights set (the SI-Net of the
    learned model or standard-codec SI-Net its container names), ``dsin_finder`` (the SI-Finder
    settings of learned views; None: each model's registered ones), the self-ensemble size, the
    device."""

    dsin_finder: SIFinderConfig | None
    ensemble: int
    device: torch.device
    dtype: torch.dtype = torch.float32
    executor: Executor | None = None
    """Threads that search an image's block grids at once (None: one after the other)."""

    def search_early(
        self,
        views: list[tuple[View | None, View | None]],
        side_images: list[Tensor | None],
        track: Callable[[int], MatchTrack | None],
    ) -> EarlySearch:
        """The SI-Finder of every item whose left view and reference (the side image, else the
        right view) are pixels already; ``track(i)``: item i's stream track."""
        start = time.perf_counter()
        early = EarlySearch.none(len(views))
        for i, ((primary, side), image) in enumerate(zip(views, side_images, strict=True)):
            x_dec, reference = _pixels(primary), image if image is not None else _pixels(side)
            if x_dec is not None and reference is not None:
                found = self._search(x_dec, reference, primary, track(i))
                early.found[i], early.searches[i] = found
        early.seconds = time.perf_counter() - start
        return early

    def fuse(
        self,
        alone: list[Tensor | None],
        references: list[Tensor | None],
        views: list[View | None],
        tracks: list[MatchTrack | None],
        timer: Timer,
        early: EarlySearch | None = None,
    ) -> tuple[list[Tensor | None], list[str | None]]:
        """X_hat for every item with a left view and a reference; X_dec for the others. Also
        how each item's SI-Finder searched (None: no side information). ``early``: the items
        searched at stage 1 (their tracks are not used again)."""
        fused = list(alone)
        both = [
            i
            for i, (a, r) in enumerate(zip(alone, references, strict=True))
            if a is not None and r is not None
        ]
        early = early or EarlySearch.none(len(alone))
        searches = list(early.searches)

        def search(i: int) -> Found:
            if early.found[i] is not None:
                return early.found[i]
            found, searches[i] = self._search(alone[i], references[i], views[i], tracks[i])
            return found

        found = timer("si_finder", lambda: {i: search(i) for i in both})
        groups: dict[tuple, list[int]] = defaultdict(list)
        for i in both:  # one SI-Net call per weights set and shape
            groups[(id(views[i].entry), tuple(alone[i].shape))].append(i)
        chunks = [
            part
            for (_, shape), indexes in groups.items()
            for part in chunked(indexes, shape[-2] * shape[-1], self.device)
        ]
        for indexes in chunks:
            x = torch.stack([alone[i] for i in indexes])
            y_syn = torch.stack([found[i][0] for i in indexes])
            confidence = torch.stack([found[i][1] for i in indexes])
            group = [views[i] for i in indexes]
            inputs = (group, x, y_syn, confidence, self.ensemble)
            x_hat = timer("si_net", lambda a=inputs: self._reduced(a))
            for i, out in zip(indexes, x_hat, strict=True):
                fused[i] = out
        return fused, searches

    def _search(
        self, x_dec: Tensor, reference: Tensor, view: View, track: MatchTrack | None
    ) -> tuple[Found, str]:
        found = find(x_dec, reference, self._finder(view), track, self.executor)
        return found, "full" if track is None else track.last

    def _reduced(self, inputs: tuple) -> Tensor:
        with reduced(self.device, self.dtype):
            return inputs[0][0].family.si_net(*inputs).float()

    def _finder(self, view: View) -> SIFinderConfig:
        return view.family.si_finder(view, self.dsin_finder)


def _pixels(view: View | None) -> Tensor | None:
    """A view's image when it is pixels already (no synthesis), else None."""
    return None if view is None or view.family.synthesised else view.image
