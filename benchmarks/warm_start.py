"""The SI-Finder's warm start against its full search, on consecutive frames of real sequences.

Each sequence's first ``--frames`` pairs are coded as a camera would code them (``--codecs``:
AVIF per frame at the camera's default quality; H.264 as a stream, the camera's default CRF
and a keyframe a second at ``--fps``) and decoded, in order. For every pair the full search and
a :class:`~pipeline.codec.model.si_track.MatchTrack` (one per sequence and codec, fed the pairs
in order, as the decoder feeds a rig's) build Y_syn from X_dec and the decoded right view; the
codec's SI-Net fuses each. Reported per sequence and codec: the SI-Finder's milliseconds a pair
(median and mean, full and warm: the warm figure counts its full searches and fallbacks), how
often each search ran, the PSNR of Y_syn and of X_hat against the original left view (means) and
the largest per-pair difference warm - full. Prints and writes the JSON report.

    python -m benchmarks.warm_start --sequences karlsruhe_0023 euroc_v1_01 --frames 30
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import DATA, environment, write_report
from pipeline.codec.inputs import read_image
from pipeline.codec.model.si_finder import Found, SIFinderConfig, find_matches
from pipeline.codec.model.si_standard import StandardSINet, load_standard_net
from pipeline.codec.model.si_track import MatchTrack, WarmStart
from pipeline.codec.model.tensors import to_image, to_tensor
from pipeline.codec.standard import STANDARD_CODECS
from pipeline.codec.weights import STANDARD_MODELS, VIDEO_MODELS
from pipeline.evaluation.quality import psnr
from pipeline.training.data.datasets import list_pairs

FPS = {"karlsruhe_0023": 10.0, "euroc_v1_01": 20.0}
"""The recorded rate of the evaluation sequences (``../shared/data/README.md``)."""


def coded(images: list[np.ndarray], codec: str, fps: float) -> tuple[list[np.ndarray], int]:
    """One view's frames decoded after coding them as the camera does; the quality input the
    SI-Net is told."""
    if codec in STANDARD_CODECS:
        standard = STANDARD_CODECS[codec]
        quality = standard.default_quality
        channels = 1 if images[0].ndim == 2 else 3
        out = [
            standard.decode(standard.encode(image, quality), channels, image.shape[:2])
            for image in images
        ]
        return out, quality
    return _video(images, codec, fps)


def _video(images: list[np.ndarray], codec: str, fps: float) -> tuple[list[np.ndarray], int]:
    from pipeline.codec.video.decoder import VideoStreamDecoder
    from pipeline.codec.video.encoder import VideoEncoder
    from pipeline.codec.video.settings import DEFAULT_CRF, VideoSettings, quality_of_crf

    settings = VideoSettings(codec=codec, fps=fps, encoder="libx264" if codec == "h264" else "auto")
    height, width = images[0].shape[:2]
    channels = 1 if images[0].ndim == 2 else 3
    decoder = VideoStreamDecoder(codec, channels)
    with VideoEncoder(settings, width, height, channels) as encoder:
        out = [decoder.decode(encoder.encode(image)).image for image in images]
    return out, quality_of_crf(DEFAULT_CRF[codec])


def _net(codec: str) -> tuple[StandardSINet, int]:
    specs = {spec.codec: spec for spec in (*STANDARD_MODELS.values(), *VIDEO_MODELS.values())}
    net, _ = load_standard_net(specs[codec].weights)
    return net, net.codec_index(codec)


def _fuse(
    net: StandardSINet, x_dec: torch.Tensor, y_syn, confidence, codec: int, quality: int
) -> torch.Tensor:
    """X_hat of one image, as the decoder's SI-Net stage computes it (float32, one pass)."""
    with torch.inference_mode():
        codecs, qualities = torch.tensor([codec]), torch.tensor([quality])
        return net(x_dec[None], y_syn[None], confidence[None], codecs, qualities)[0]


def _timed(
    track: MatchTrack | None, x_dec: torch.Tensor, side: torch.Tensor, config: SIFinderConfig
) -> tuple[Found, float, float]:
    """One search (full without ``track``), its wall and CPU seconds (the CPU time of all of
    the process's threads: steadier than wall time on a shared machine)."""
    wall, cpu = time.perf_counter(), time.process_time()
    with torch.no_grad():
        found = (
            find_matches(x_dec, side, config) if track is None else track.find(x_dec, side, config)
        )
    return found, time.perf_counter() - wall, time.process_time() - cpu


def pairs_of(folder: Path, count: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The first ``count`` pairs of a sequence, in capture order."""
    for left, right in list_pairs([folder])[:count]:
        yield read_image(left), read_image(right)


def run(folder: Path, codec: str, frames: int, warm: WarmStart, fps: float) -> dict:
    """Full and warm search side by side on one sequence coded with one codec."""
    lefts, rights = (list(v) for v in zip(*pairs_of(folder, frames), strict=True))
    (x_decs, quality), (sides, _) = coded(lefts, codec, fps), coded(rights, codec, fps)
    net, index = _net(codec)
    finder = net.config.si_finder
    track, rows, searches = MatchTrack(warm), [], Counter()
    for left, x_np, side_np in zip(lefts, x_decs, sides, strict=True):
        x_dec, side = to_tensor(x_np), to_tensor(side_np)
        row = {}
        for name, chosen in (("full", None), ("warm", track)):
            found, wall, cpu = _timed(chosen, x_dec, side, finder)
            fused = _fuse(net, x_dec, found.y_syn, found.confidence, index, quality)
            channels = 1 if left.ndim == 2 else 3
            row[name] = {
                "ms": 1000 * wall,
                "cpu_ms": 1000 * cpu,
                "y_syn_psnr": psnr(left, to_image(found.y_syn.clamp(0, 1), channels)),
                "fused_psnr": psnr(left, to_image(fused.clamp(0, 1), channels)),
                "full_blocks": found.full_blocks / found.blocks,
            }
        row["x_dec_psnr"] = psnr(left, x_np)
        searches[track.last] += 1
        rows.append(row)
    return _summary(folder.name, codec, rows, searches)


def _summary(name: str, codec: str, rows: list[dict], searches: Counter) -> dict:
    def series(search: str, key: str) -> list[float]:
        return [r[search][key] for r in rows]

    figures = {"sequence": name, "codec": codec, "pairs": len(rows), "searches": dict(searches)}
    figures["x_dec_psnr"] = statistics.mean(r["x_dec_psnr"] for r in rows)
    figures["warm_full_blocks_share"] = statistics.mean(series("warm", "full_blocks"))
    for search in ("full", "warm"):
        for key in ("ms", "cpu_ms"):
            figures[f"{search}_{key}_median"] = statistics.median(series(search, key))
            figures[f"{search}_{key}_mean"] = statistics.mean(series(search, key))
        for key in ("y_syn_psnr", "fused_psnr"):
            figures[f"{search}_{key}"] = statistics.mean(series(search, key))
    for key in ("y_syn_psnr", "fused_psnr"):
        diffs = [w - f for w, f in zip(series("warm", key), series("full", key), strict=True)]
        figures[f"{key}_diff_mean"] = statistics.mean(diffs)
        figures[f"{key}_diff_worst"] = min(diffs)
    return figures


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Every sequence with every codec; print and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", nargs="+", default=list(FPS))
    parser.add_argument("--codecs", nargs="+", default=["avif", "h264"])
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--rows", type=int, default=WarmStart.rows)
    parser.add_argument("--columns", type=int, default=WarmStart.columns)
    parser.add_argument("--refresh", type=int, default=WarmStart.refresh)
    parser.add_argument("--drop", type=float, default=WarmStart.drop)
    parser.add_argument("--threads", type=int, default=0, help="torch threads; 0: its default")
    parser.add_argument("--data", type=Path, default=DATA / "stereo")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    warm = WarmStart(args.rows, args.columns, args.refresh, args.drop)
    results = []
    for sequence in args.sequences:
        for codec in args.codecs:
            fps = FPS.get(sequence, 10.0)
            results.append(run(args.data / sequence, codec, args.frames, warm, fps))
            print(results[-1], flush=True)
    report = {
        "benchmark": "warm_start",
        "warm_start": vars(warm),
        "frames": args.frames,
        "results": results,
        "environment": environment(),
    }
    write_report(report, args.out)
    return report


if __name__ == "__main__":
    main()
