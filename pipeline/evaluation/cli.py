"""``stereo-pipeline eval``: rate-distortion of our codec against JPEG, WebP, JPEG 2000 and AVIF,
and of JPEG, WebP and AVIF decoded with the right view as side information (``*_si``); with
``--sequences``, of whole stereo sequences coded by the video codecs (H.264, HEVC, AV1, with
and without side information) beside the image codecs.

Writes ``OUTDIR/rd.json`` (format in ``docs/evaluation.md``) and ``OUTDIR/rd.png``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from tqdm import tqdm

from pipeline.codec.video.settings import VIDEO_CODECS
from pipeline.evaluation.classic import CLASSIC_CODECS
from pipeline.evaluation.console import conclude
from pipeline.evaluation.grids import classic_codecs, parse_grids
from pipeline.evaluation.images import PairFiles, find_pairs, pixel_count
from pipeline.evaluation.metadata import run_metadata
from pipeline.evaluation.ours import OursCodec
from pipeline.evaluation.plot import plot_rd
from pipeline.evaluation.runner import EvaluationPlan, EvaluationResult, count_steps, evaluate
from pipeline.evaluation.standard_si import StandardSI
from pipeline.evaluation.summary import comparisons, curves
from pipeline.help_text import command_parser, options

SI_CODECS = ("jpeg_si", "webp_si", "avif_si")
"""Standard codecs decoded with side information: each brings its plain codec's rows too."""
ALL_CODECS = (*CLASSIC_CODECS, *SI_CODECS, "ours")
VIDEO_ROWS = tuple(name for codec in VIDEO_CODECS for name in (codec, f"{codec}_si"))
"""The video codecs' rows (``--sequences`` only): each alone and with side information."""


def _ensemble(text: str) -> int | str:
    """``--self-ensemble``: 'auto' or one of the sizes the SI-Net offers."""
    if text == "auto":
        return text
    if text not in ("1", "2", "4", "8"):
        raise argparse.ArgumentTypeError(f"one of 1, 2, 4, 8 or auto, not {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``stereo-pipeline eval``."""
    parser = command_parser("stereo-pipeline eval", __doc__)
    inputs = parser.add_mutually_exclusive_group(required=True)
    inputs.add_argument(
        "--pairs",
        nargs="+",
        type=Path,
        metavar="DIR",
        help="folders with left/NNNNNN.png and right/NNNNNN.png",
    )
    inputs.add_argument(
        "--sequences",
        nargs="+",
        type=Path,
        metavar="DIR",
        help="stereo sequences: folders with left/NAME and right/NAME (same name, same "
        "instant) in capture order; each is coded whole, video codecs as streams",
    )
    parser.add_argument(
        "--out", required=True, type=Path, metavar="OUTDIR", help="folder for rd.json and rd.png"
    )
    parser.add_argument(
        "--qualities",
        nargs="+",
        type=int,
        metavar="Q",
        help="qualities of our codec (default: all the encoder offers)",
    )
    parser.add_argument(
        "--side-quality",
        type=int,
        metavar="Q",
        help="quality of the right view for ours_si (default: same as the left)",
    )
    parser.add_argument(
        "--self-ensemble",
        type=_ensemble,
        default=8,
        metavar="{1,2,4,8,auto}",
        help="SI-Net passes over flips and transposes, averaged (default: 8, what the decoder"
        " runs on a GPU host; 'auto': the decoder's choice for --device, 1 on the CPU)",
    )
    parser.add_argument(
        "--fps",
        type=float,
        default=10.0,
        metavar="F",
        help="--sequences: the frames' rate, at which the video codecs code them (default 10)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        metavar="DIR",
        help="--sequences: keep the coded streams, the SI-Finder's results and the image "
        "codecs' rows in DIR, so a run with new si-std2 weights redoes only the SI-Net",
    )
    parser.add_argument(
        "--limit", type=int, metavar="N", help="at most N pairs per folder (the first N frames)"
    )
    parser.add_argument(
        "--max-pixels",
        type=int,
        metavar="P",
        help="leave out pairs whose left view has more than P pixels (before --limit)",
    )
    parser.add_argument(
        "--codecs",
        nargs="+",
        choices=(*ALL_CODECS, *VIDEO_ROWS),
        metavar="CODEC",
        help=f"codecs to compare (default: all of {', '.join(ALL_CODECS)}; with --sequences "
        "the video codecs and the image codecs but ours and jpeg_si, webp_si); "
        "NAME_si: NAME decoded with the right view as side information",
    )
    parser.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="CODEC=Q,Q,...",
        help="replace a conventional codec's quality grid, or a video codec's CRFs",
    )
    parser.add_argument("--model", help="our model id (default: the registry default)")
    parser.add_argument(
        "--weights-dir",
        type=Path,
        metavar="DIR",
        help="load our model's weights from DIR (as `stereo-pipeline export --out-dir DIR` "
        "writes them) instead of the package's: compare a candidate side by side",
    )
    parser.add_argument("--device", default="auto", help="decoder device: auto, cpu, cuda")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation; 0 on success, 2 on bad arguments or missing data."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.sequences is not None:
        from pipeline.evaluation.sequence_cli import run_sequences

        return run_sequences(args)
    args.codecs = args.codecs or list(ALL_CODECS)
    try:
        if set(args.codecs) & set(VIDEO_ROWS):
            raise ValueError("video codecs code sequences: give --sequences, not --pairs")
        pairs = _collect_pairs(args.pairs, args.limit, args.max_pixels)
        classic = classic_codecs(args.codecs, parse_grids(args.grid))
        ours, ours_qualities = _ours(args) if "ours" in args.codecs else (None, ())
    except (FileNotFoundError, ValueError) as error:
        print(f"stereo-pipeline eval: {error}", file=sys.stderr)
        return 2
    with_si = frozenset(name.removesuffix("_si") for name in args.codecs if name in SI_CODECS)
    standard = _standard(args, ours) if with_si else None
    plan = EvaluationPlan(
        pairs, classic, ours, ours_qualities, standard=standard, standard_si=with_si
    )
    started = time.monotonic()
    with tqdm(total=count_steps(plan), disable=args.no_progress, unit="code") as progress:
        result = evaluate(plan, progress)
    return conclude(
        result,
        lambda: _report(args, pairs, plan, result, time.monotonic() - started),
        lambda report: _write(args.out, report),
    )


def _collect_pairs(dirs: list[Path], limit: int | None, max_pixels: int | None) -> list[PairFiles]:
    names = [path.name for path in dirs]
    if len(set(names)) != len(names):
        raise ValueError(f"two --pairs folders share a name: {names}")
    pairs = []
    for folder in dirs:
        found = find_pairs(folder)
        if max_pixels is not None:
            found = [pair for pair in found if pixel_count(pair.left) <= max_pixels]
        if not found:
            raise ValueError(f"{folder}: no pair with at most {max_pixels} pixels")
        pairs += found[:limit] if limit is not None else found
    return pairs


def _standard(args: argparse.Namespace, ours: OursCodec | None) -> StandardSI:
    """The standard codecs' side-information decoder (ours's decoder when it runs too)."""
    return StandardSI(args.device, args.self_ensemble, ours.decoder if ours else None)


def _ours(args: argparse.Namespace) -> tuple[OursCodec, tuple[int, ...]]:
    ours = OursCodec(
        **options(args, "model", "device", "side_quality", "self_ensemble", "weights_dir")
    )
    qualities = tuple(args.qualities) if args.qualities else ours.qualities
    unknown = sorted(set(qualities) - set(ours.qualities))
    if unknown:
        raise ValueError(f"--qualities {unknown} not offered by our codec {ours.qualities}")
    return ours, qualities


def _report(
    args: argparse.Namespace,
    pairs: list[PairFiles],
    plan: EvaluationPlan,
    result: EvaluationResult,
    seconds: float,
) -> dict:
    rows = result.rows
    report: dict = {"codecs": curves(rows)}
    report |= comparisons(report["codecs"])
    sets = sorted({pair.set_name for pair in pairs})
    report["sets"] = {}
    for name in sets:
        set_curves = curves(row for row in rows if row["set"] == name)
        report["sets"][name] = {"codecs": set_curves, **comparisons(set_curves)}
    report["pairs"] = rows
    report["failures"] = result.failures
    report |= run_metadata(plan, args, pairs, seconds)
    return report


def _write(out: Path, report: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "rd.json").write_text(json.dumps(report, indent=1, allow_nan=False) + "\n")
    sets = list(report["sets"])
    pairs = len({(row["set"], row["pair"]) for row in report["pairs"]})
    title = f"{' + '.join(sets)}: {pairs} pairs, left view (BD-rate on PSNR)"
    plot_rd(report["codecs"], out / "rd.png", title, report["bd_rate"])
    if len(sets) > 1:
        for name, summary in report["sets"].items():
            plot_rd(summary["codecs"], out / f"rd_{name}.png", name, summary["bd_rate"])
