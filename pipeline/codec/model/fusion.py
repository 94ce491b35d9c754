"""The one side-information path: the SI-Finder's search and the residual-scale fit.

The decoder (:mod:`pipeline.codec.decode.side_information` and its families' parts), the
learned model's training and calibration (:meth:`~pipeline.codec.model.dsin.DsinCodec.fuse`,
:mod:`pipeline.training.surgery.calibrate`) and the standard-codec SI-Net's data preparation,
training and calibration (:mod:`pipeline.training.standard`) all find side information with
:func:`find` and call the same SI-Net modules (``scaled=False`` in training and calibration:
the raw residual), so what an SI-Net is trained and calibrated on is what the decoder gives it.

:func:`find` runs the SI-Finder in float32 without gradients (never under reduced precision), the
whole search, or given a stream's :class:`~pipeline.codec.model.si_track.MatchTrack` (the
decoder, on a rig's pairs in order) around the matches of the stream's previous pair;
:class:`ResidualFit` is the least-squares fit of the residual scale
s = <r, X - X_dec> / <r, r>, clipped to [0, 1], that both calibrations use.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor

import torch
from torch import Tensor

from pipeline.codec.model.si_finder import SIFinderConfig, find_matches
from pipeline.codec.model.si_track import MatchTrack


def find(
    x_dec: Tensor,
    reference: Tensor,
    finder: SIFinderConfig,
    track: MatchTrack | None = None,
    executor: Executor | None = None,
) -> tuple[Tensor, Tensor]:
    """Y_syn and the match confidence of one (3, H, W) X_dec in its decoded ``reference``;
    ``track``: the stream of pairs it belongs to (None: a whole search); ``executor``: threads
    for the SI-Finder's block grids (:func:`~pipeline.codec.model.si_finder.find_matches`)."""
    with torch.no_grad(), torch.autocast(x_dec.device.type, enabled=False):
        x, side = x_dec.float(), reference.float()
        if track is None:
            found = find_matches(x, side, finder, executor=executor)
        else:
            found = track.find(x, side, finder, executor)
        return found.y_syn, found.confidence


def find_batch(
    x_dec: Tensor, references: Sequence[Tensor], finder: SIFinderConfig
) -> tuple[Tensor, Tensor]:
    """:func:`find` for a batch (B, 3, H, W) and its B references: stacked Y_syn, confidence."""
    found = [find(x, s, finder) for x, s in zip(x_dec, references, strict=True)]
    y_syn, confidence = (torch.stack(parts) for parts in zip(*found, strict=True))
    return y_syn, confidence


class ResidualFit:
    """Least-squares scales of an SI-Net's residual r = X_hat - X_dec, one per cell of
    ``shape`` (a level, or a codec and quality), accumulated over pairs."""

    def __init__(self, *shape: int) -> None:
        self._num = torch.zeros(shape, dtype=torch.float64)
        self._den = torch.zeros(shape, dtype=torch.float64)

    def add(self, cell: int | tuple[int, ...], fused: Tensor, x_dec: Tensor, x: Tensor) -> None:
        """Add one item's (or batch's) unscaled ``fused`` output, X_dec and source X to ``cell``."""
        residual = (fused - x_dec).double()
        self._num[cell] += float((residual * (x - x_dec).double()).sum())
        self._den[cell] += float(residual.pow(2).sum())

    def scales(self) -> Tensor:
        """s = <r, X - X_dec> / <r, r> per cell, clipped to [0, 1] (float32)."""
        return (self._num / self._den.clamp_min(1e-12)).clamp(0.0, 1.0).float()
