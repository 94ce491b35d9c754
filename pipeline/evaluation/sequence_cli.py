"""``stereo-pipeline eval --sequences``: whole stereo sequences through video and image codecs.

Each sequence is coded whole per codec and setting (:mod:`pipeline.evaluation.sequence_runner`)
and reported in the ``rd.json`` of ``stereo-pipeline eval`` (``docs/evaluation.md``): a row per
codec under ``codecs`` with one point per setting, BD-rates against per-frame JPEG and AVIF and
of each ``*_si`` row against its codec, an RD plot.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import av
from tqdm import tqdm

from pipeline.codec.standard import AVIF_SPEED
from pipeline.codec.video.settings import VIDEO_CODECS
from pipeline.evaluation.classic import CLASSIC_CODECS
from pipeline.evaluation.console import conclude
from pipeline.evaluation.eval_cache import EvalCache
from pipeline.evaluation.grids import classic_codecs, parse_grids
from pipeline.evaluation.metadata import versions
from pipeline.evaluation.plot import plot_rd
from pipeline.evaluation.sequence_runner import (
    KEYFRAME_INTERVAL_S,
    SequencePlan,
    VideoGrid,
    count_steps,
    evaluate_sequences,
    sequence_rows,
)
from pipeline.evaluation.sequences import SequenceFiles, find_sequence
from pipeline.evaluation.standard_si import StandardSI
from pipeline.evaluation.summary import comparisons, curves
from pipeline.evaluation.video_si import VideoSI

VIDEO_GRIDS: dict[str, tuple[int, ...]] = {
    "h264": (18, 23, 28, 33, 38),
    "hevc": (20, 25, 30, 35, 40),
    "av1": (24, 32, 40, 48, 56),
}
"""Each video codec's CRFs: five steps around the camera default (``DEFAULT_CRF``), spanning
about 0.05 to 1 bpp on karlsruhe_0023, as the image codecs' grids do (docs/evaluation.md)."""
SEQUENCE_CODECS = (
    *(name for codec in VIDEO_CODECS for name in (codec, f"{codec}_si")),
    *CLASSIC_CODECS,
    "avif_si",
)
"""What ``--sequences`` runs by default: the video codecs with and without side information,
every image codec, and AVIF (the cameras' image default) with side information."""
ANCHORS = ("jpeg", "avif")
"""Every codec's BD-rate is given against per-frame JPEG and AVIF."""


def run_sequences(args: argparse.Namespace) -> int:
    """The ``--sequences`` command; 0 done, 1 nothing evaluated, 2 bad arguments or folders."""
    codecs = args.codecs or list(SEQUENCE_CODECS)
    try:
        plan = _plan(args, codecs)
    except (FileNotFoundError, ValueError) as error:
        print(f"stereo-pipeline eval: {error}", file=sys.stderr)
        return 2
    started = time.monotonic()
    with tqdm(total=count_steps(plan), disable=args.no_progress, unit="frame") as progress:
        result = evaluate_sequences(plan, progress)
    return conclude(
        result,
        lambda: _report(args, plan, result, time.monotonic() - started),
        lambda report: _write(args.out, report, args.fps),
    )


def _plan(args: argparse.Namespace, codecs: list[str]) -> SequencePlan:
    """The sequences, codecs and grids of the command line; ValueError for a bad one."""
    if "ours" in codecs:
        raise ValueError("ours codes pairs, not sequences: leave it out of --codecs")
    if not args.fps > 0:
        raise ValueError(f"--fps must be positive, got {args.fps}")
    sequences = _collect(args.sequences, args.limit)
    grids = parse_grids(args.grid)
    with_si = {name.removesuffix("_si") for name in codecs if name.endswith("_si")}
    video_names = [c for c in VIDEO_CODECS if c in {n.removesuffix("_si") for n in codecs}]
    video = [VideoGrid(c, grids.get(c, VIDEO_GRIDS[c])) for c in video_names]
    standard_si = frozenset(with_si & set(CLASSIC_CODECS))
    video_si = frozenset(with_si & set(VIDEO_CODECS))
    return SequencePlan(
        sequences,
        classic_codecs(codecs, grids),
        StandardSI(args.device, args.self_ensemble) if standard_si else None,
        standard_si,
        video,
        VideoSI(args.device, args.self_ensemble, args.weights_dir) if video_si else None,
        video_si,
        args.fps,
        EvalCache(args.cache) if args.cache is not None else None,
    )


def _collect(dirs: list[Path], limit: int | None) -> list[SequenceFiles]:
    names = [path.name for path in dirs]
    if len(set(names)) != len(names):
        raise ValueError(f"two --sequences folders share a name: {names}")
    if limit is not None and limit < 1:
        raise ValueError(f"--limit must be at least 1, got {limit}")
    return [find_sequence(folder, limit) for folder in dirs]


def _report(args: argparse.Namespace, plan: SequencePlan, result, seconds: float) -> dict:
    rows = sequence_rows(result.rows)
    all_curves = curves(rows)
    report: dict = {"codecs": all_curves, **comparisons(all_curves, _anchors(all_curves))}
    report["sets"] = {}
    for sequence in plan.sequences:
        set_curves = curves(row for row in rows if row["set"] == sequence.name)
        report["sets"][sequence.name] = {
            "codecs": set_curves,
            **comparisons(set_curves, _anchors(set_curves)),
        }
    report["sequences"] = rows
    report["pairs"] = result.rows
    report["failures"] = result.failures
    return report | _metadata(args, plan, seconds)


def _anchors(codec_curves: dict) -> tuple[str, ...]:
    return tuple(a for a in ANCHORS if a in codec_curves)


def _metadata(args: argparse.Namespace, plan: SequencePlan, seconds: float) -> dict:
    """What ``rd.json`` records about the run (the fields of ``stereo-pipeline eval``'s, and
    the video settings)."""
    side, standard = plan.side, plan.standard
    device = side.device if side else standard.decoder.device if standard else "cpu"
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": versions() | {"av": av.__version__},
        "device": str(device),
        "standard_si": None
        if standard is None
        else {"codecs": sorted(plan.standard_si), "weights_hash": standard.weights_hash},
        "video_si": None
        if side is None
        else {
            "codecs": sorted(plan.video_si),
            "weights_hash": side.weights_hash,
            "self_ensemble": side.ensemble,
            "precision": str(side.dtype).removeprefix("torch."),
        },
        "inputs": [
            {"set": s.name, "path": str(s.path), "frames": len(s.frames)} for s in plan.sequences
        ],
        "qualities": {c.name: list(c.qualities) for c in plan.classic}
        | {grid.codec: list(grid.crfs) for grid in plan.video},
        "settings": {
            "fps": plan.fps,
            "keyframe_interval_s": KEYFRAME_INTERVAL_S,
            "encoders": plan.encoders,
            "self_ensemble": standard.decoder.self_ensemble if standard else None,
            "avif_speed": AVIF_SPEED,
            "limit": args.limit,
            "weights_dir": None if args.weights_dir is None else str(args.weights_dir),
            "cache": None if args.cache is None else str(args.cache),
        },
        "wall_seconds": round(seconds, 2),
    }


def _write(out: Path, report: dict, fps: float) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "rd.json").write_text(json.dumps(report, indent=1, allow_nan=False) + "\n")
    inputs = report["inputs"]
    frames = ", ".join(f"{i['set']} ({i['frames']} frames)" for i in inputs)
    title = f"{frames} at {fps:g} fps, left view (BD-rate on PSNR)"
    anchors = _anchors(report["codecs"])
    plot_rd(report["codecs"], out / "rd.png", title, report["bd_rate"], anchors, log_rate=True)
    if len(inputs) > 1:
        for name, summary in report["sets"].items():
            plot_rd(
                summary["codecs"], out / f"rd_{name}.png", name, summary["bd_rate"], anchors, True
            )
