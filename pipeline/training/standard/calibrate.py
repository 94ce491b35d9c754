"""Fit the standard-codec SI-Net's residual scale per codec and quality on held-out real frames.

The SI-Net trains on crops; on full real frames its residual may hurt at some qualities while
it helps at others (as dsin-s1's did, docs/models.md). For each codec c and each quality q of
its grid this finds the scale s in [0, 1] of the residual r = SI-Net(X_dec, ...) - X_dec
that minimises the squared error over the frames, in closed form s = <r, X - X_dec> / <r, r>,
with the right view coded by the same codec at the same quality (the evaluation's setting);
qualities in between get the linear interpolation, qualities outside the nearest end's scale.

    python -m pipeline.training.standard.calibrate runs/si-std/run/checkpoint.pt \\
        runs/si-std/run/calibrated.pt --pairs ../shared/data/stereo/kitti_raw_0926_0001 ...
    python -m pipeline.training.standard.calibrate runs/si-std2/run/checkpoint.pt \\
        runs/si-std2/run/calibrated.pt --sequences ../shared/data/stereo/kitti_raw_0926_0001 ...

Image codecs (JPEG, WebP, AVIF) fit on still pairs (``--pairs``: by default the
``--holdout``-th pairs that :mod:`.prepare` left out) at ``--qualities``; video codecs (H.264,
HEVC, AV1) on the held-out tails of real sequences (``--sequences``, :mod:`.clips`), each view
coded as a camera's stream at the CRFs of :data:`VIDEO_CRFS` (quality ``100 - crf``), on up to
``--per-clip`` frames of each tail. Writes a checkpoint with ``codec_scale`` set and prints the
scales.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from pipeline.codec.inputs import read_image
from pipeline.codec.model.fusion import ResidualFit, find
from pipeline.codec.model.si_standard import QUALITY_STEPS, StandardSIConfig, StandardSINet
from pipeline.codec.model.tensors import to_tensor
from pipeline.codec.video.settings import quality_of_crf
from pipeline.help_text import command_parser
from pipeline.training.data.datasets import list_pairs
from pipeline.training.standard.clips import Clip, clip_frames, clips
from pipeline.training.standard.prepare import code, seeded
from pipeline.training.standard.prepare_video import code_stream

QUALITIES = (5, 10, 20, 35, 50, 70, 85, 95)
#: The CRFs each video codec is calibrated at (its training range, prepare_video.CRF_RANGE).
VIDEO_CRFS = {
    "h264": (18, 23, 28, 33, 40),
    "hevc": (20, 25, 30, 35, 42),
    "av1": (25, 32, 40, 47, 55),
}


class Coded(NamedTuple):
    """One left view X, coded by codec ``codec`` (the net's index) at ``quality``: X_dec,
    and the right view coded alike."""

    codec: int
    quality: int
    left: np.ndarray
    left_dec: np.ndarray
    right_dec: np.ndarray


def held_out(folders: list[Path], holdout: int, per_folder: int) -> list[tuple[Path, Path]]:
    """The pairs :mod:`.prepare` left out (every ``holdout``-th), ``per_folder`` of each."""
    found = []
    for folder in folders:
        pairs = list_pairs([folder])
        found += [p for i, p in enumerate(pairs) if i % holdout == holdout - 1][:per_folder]
    return found


def image_items(
    codecs: Sequence[str], pairs: list[tuple[Path, Path]], qualities: Sequence[int]
) -> Iterator[Coded]:
    """Every pair coded by each image codec among ``codecs`` at each of ``qualities``."""
    for left_path, right_path in pairs:
        left, right = read_image(left_path), read_image(right_path)
        if right.ndim != left.ndim:
            continue
        for c, codec in enumerate(codecs):
            for quality in qualities if codec not in VIDEO_CRFS else ():
                yield Coded(
                    c, quality, left, code(codec, left, quality), code(codec, right, quality)
                )


def video_items(
    codecs: Sequence[str], found: list[Clip], crfs: dict[str, Sequence[int]], per_clip: int
) -> Iterator[Coded]:
    """Each clip's views coded as two streams by each video codec among ``codecs`` at each of
    its ``crfs``; up to ``per_clip`` frames spread over the clip (its first, a keyframe, only
    where the clip has one frame; later ones are inter frames or keyframes as the GOP falls)."""
    for clip in found:
        frames = clip_frames(clip, seeded(clip.name))
        spread = np.linspace(0, len(frames) - 1, per_clip + 1)[1:] if len(frames) > 1 else [0]
        picks = sorted({round(float(i)) for i in spread})
        for c, codec in enumerate(codecs):
            for crf in crfs.get(codec, ()):
                coded = [
                    code_stream(codec, crf, views, 10.0)[0] for views in zip(*frames, strict=True)
                ]
                for i in picks:
                    yield Coded(c, quality_of_crf(crf), frames[i][0], coded[0][i], coded[1][i])


def fit_scales(
    net: StandardSINet, items: Iterator[Coded], grids: Sequence[Sequence[int]]
) -> torch.Tensor:
    """(codecs, 101) scales: least squares at each codec's grid of qualities ``grids[c]``
    (every item's quality on its codec's grid), interpolated in between."""
    fit = ResidualFit(len(net.config.codecs), max(len(g) for g in grids))
    with torch.no_grad():
        for item in items:
            _fit_one(net, fit, (item.codec, list(grids[item.codec]).index(item.quality)), item)
    at_grid = fit.scales().numpy()
    steps = np.arange(QUALITY_STEPS)
    scales = [np.interp(steps, g, at_grid[c, : len(g)]) for c, g in enumerate(grids)]
    return torch.tensor(np.stack(scales), dtype=torch.float32)


def _fit_one(net: StandardSINet, fit: ResidualFit, cell: tuple[int, int], item: Coded) -> None:
    """Add one coded frame to ``fit``: found and fused exactly as the decoder does
    (:mod:`pipeline.codec.model.fusion`), the residual unscaled."""
    x_dec = to_tensor(item.left_dec)
    y_syn, confidence = find(x_dec, to_tensor(item.right_dec), net.config.si_finder)
    codecs, qualities = torch.tensor([item.codec]), torch.tensor([item.quality])
    fused = net(x_dec[None], y_syn[None], confidence[None], codecs, qualities, scaled=False)
    fit.add(cell, fused, x_dec[None], to_tensor(item.left)[None])


def load_checkpoint(path: Path) -> tuple[StandardSINet, dict]:
    """The net of a training checkpoint (eval mode) and the checkpoint itself."""
    state = torch.load(path, map_location="cpu", weights_only=False)
    net = StandardSINet(StandardSIConfig.from_stored(state["config"]))
    net.load_state_dict(state["model"])
    return net.eval(), state


def main(argv: list[str] | None = None) -> int:
    """Command line (module docstring)."""
    parser = command_parser("python -m pipeline.training.standard.calibrate", __doc__)
    parser.add_argument("source", type=Path, help="a training checkpoint")
    parser.add_argument("target", type=Path, help="checkpoint to write, with the scales")
    parser.add_argument("--pairs", nargs="*", type=Path, default=[], help="image codecs' folders")
    parser.add_argument("--sequences", nargs="*", type=Path, default=[], help="video codecs'")
    parser.add_argument("--holdout", type=int, default=5, help="as given to prepare")
    parser.add_argument("--per-folder", type=int, default=2, help="held-out pairs per folder")
    parser.add_argument("--per-clip", type=int, default=3, help="frames of each held-out tail")
    parser.add_argument(
        "--qualities", nargs="+", type=int, default=list(QUALITIES), help="image codecs' grid"
    )
    args = parser.parse_args(argv)
    net, state = load_checkpoint(args.source)
    names = net.config.codecs
    video = [name for name in names if name in VIDEO_CRFS]
    if (video and not args.sequences) or (len(video) < len(names) and not args.pairs):
        parser.error(f"{names}: give --sequences for video codecs, --pairs for image codecs")
    qualities = tuple(sorted(args.qualities))
    grids = [
        tuple(sorted(quality_of_crf(c) for c in VIDEO_CRFS[n])) if n in VIDEO_CRFS else qualities
        for n in names
    ]
    pairs = held_out(args.pairs, args.holdout, args.per_folder)
    tails = clips(args.sequences, [], [], 0, 0, args.holdout, "holdout")
    items = itertools.chain(
        image_items(names, pairs, qualities), video_items(names, tails, VIDEO_CRFS, args.per_clip)
    )
    scales = fit_scales(net, items, grids)
    state["model"] = {**state["model"], "codec_scale": scales}
    args.target.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, args.target)
    for name, row, grid in zip(names, scales, grids, strict=True):
        print(f"{name}: " + ", ".join(f"q{q} {float(row[q]):.3f}" for q in grid))
    print(f"{args.target}: {len(pairs)} pairs, {len(tails)} held-out clips")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
