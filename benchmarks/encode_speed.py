"""Camera-side encode speed: our encoder (entropy coding included) against WebP q50.

Both encode the same 640x480 colour frame, interleaved, several times each, on one thread
(as a camera node runs). The last line printed is one JSON object with the medians and
``ratio_vs_webp`` (ours / WebP); ``--out FILE`` also writes it to a file. ``--weights-dir DIR``
also times candidate weights (as ``stereo-pipeline eval --weights-dir`` takes them, a wider
camera encoder included), interleaved with the rest: ``candidate_ratio_vs_ours``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import cv2
import torch

from benchmarks.common import environment, real_frame, write_report
from pipeline.codec import ImageEncoder
from pipeline.codec.registry import load


def _seconds(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the benchmark and return (and print) its result."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quality", type=int, default=None)
    parser.add_argument("--out", default=None)
    parser.add_argument("--weights-dir", default=None, help="also time these candidate weights")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    frame, source = real_frame()
    bgr = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
    encoder = ImageEncoder()
    candidate = None
    if args.weights_dir:
        loaded = load(encoder.model_id, Path(args.weights_dir), widths_from_file=True)
        candidate = ImageEncoder(loaded=loaded)
        candidate.encode(frame, quality=args.quality)  # warm-up
    ours_bytes = len(encoder.encode(frame, quality=args.quality))  # warm-up
    webp_bytes = len(cv2.imencode(".webp", bgr, [cv2.IMWRITE_WEBP_QUALITY, 50])[1])
    ours, webp, other = [], [], []
    for _ in range(args.repeats):
        ours.append(_seconds(lambda: encoder.encode(frame, quality=args.quality)))
        webp.append(_seconds(lambda: cv2.imencode(".webp", bgr, [cv2.IMWRITE_WEBP_QUALITY, 50])))
        if candidate is not None:
            other.append(_seconds(lambda: candidate.encode(frame, quality=args.quality)))
    result = {
        "benchmark": "encode_speed",
        "frame": f"{frame.shape[1]}x{frame.shape[0]} RGB, {source}",
        "repeats": args.repeats,
        "ours_median_s": statistics.median(ours),
        "webp_median_s": statistics.median(webp),
        "ratio_vs_webp": statistics.median(ours) / statistics.median(webp),
        "ours_bpp": 8 * ours_bytes / frame[..., 0].size,
        "webp_bpp": 8 * webp_bytes / frame[..., 0].size,
        "model": encoder.model_id,
        "quality": args.quality or encoder.default_quality,
        "environment": environment(),
    }
    if other:
        result |= {
            "candidate": str(args.weights_dir),
            "candidate_median_s": statistics.median(other),
            "candidate_ratio_vs_ours": statistics.median(other) / statistics.median(ours),
        }
    write_report(result, args.out, indent=None)
    return result


if __name__ == "__main__":
    main()
