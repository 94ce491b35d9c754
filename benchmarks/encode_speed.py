"""Camera-side encode speed of every camera codec: dsin, JPEG, WebP and AVIF, one thread, and
the video codecs (H.264, HEVC, AV1) beside AVIF on consecutive frames of a real sequence.

Each image codec encodes the same 640x480 frames (a colour photo and its grey version) into the
container a camera node sends, at the settings the camera uses (its default quality unless
``--quality CODEC=Q``; AVIF at libavif speed 8), interleaved round by round so a busy machine
slows them alike. The JSON (``--out FILE``, and the last line printed) has per codec and frame
the median seconds, the ratio to JPEG and the bits per pixel of the container.
``--weights-dir DIR`` also times candidate dsin weights (as ``stereo-pipeline eval
--weights-dir`` takes them, a wider camera encoder included): ``candidate_ratio_vs_dsin``.

``sequence``: the first ``--sequence-frames`` frames of ``euroc_v1_01`` (grey, centre-cropped
to 640x480), each coded in capture order by every video codec's software encoder at a camera's
settings (``pipeline.codec.video``: zero latency, a keyframe a second at ``--fps``, the codec's
default CRF, ``--threads``) and by AVIF speed 8 at its default quality, frame by frame in turn.
Per codec: the median and mean seconds a frame, the median of keyframes, bits per pixel, mean
PSNR and the median's ratio to AVIF's.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from benchmarks.common import environment, real_frame, write_report
from benchmarks.video_speed import video_sequence
from pipeline.codec import ImageEncoder
from pipeline.codec.family import VIDEO, family_of_codec, make_encoder
from pipeline.codec.model.registry import load
from pipeline.codec.standard import AVIF_SPEED, CAMERA_CODECS


def _seconds(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def _qualities(items: list[str]) -> dict[str, int]:
    chosen = {}
    for item in items:
        name, _, value = item.partition("=")
        if name not in CAMERA_CODECS or not value.isdigit():
            raise SystemExit(f"--quality {item!r}: expected CODEC=Q with CODEC in {CAMERA_CODECS}")
        chosen[name] = int(value)
    return chosen


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the benchmark and return (and print) its result."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quality", nargs="*", default=[], metavar="CODEC=Q")
    parser.add_argument("--out", default=None)
    parser.add_argument("--weights-dir", default=None, help="also time these candidate weights")
    parser.add_argument("--sequence-frames", type=int, default=95, help="0: no video codecs")
    parser.add_argument("--fps", type=float, default=20.0, help="the sequence's frame rate")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    colour, source = real_frame()
    frames = {"colour": colour, "grey": cv2.cvtColor(colour, cv2.COLOR_RGB2GRAY)}
    # the video codecs are timed on a sequence (video_sequence), never on one frame repeated
    image_codecs = [name for name in CAMERA_CODECS if family_of_codec(name) is not VIDEO]
    encoders = {name: make_encoder(name) for name in image_codecs}
    if args.weights_dir:
        loaded = load(encoders["dsin"].model_id, Path(args.weights_dir), widths_from_file=True)
        encoders["candidate"] = ImageEncoder(loaded=loaded)
    chosen = _qualities(args.quality)
    quality = {
        n: chosen.get(n, chosen.get("dsin", e.default_quality))
        if n == "candidate"
        else chosen.get(n, e.default_quality)
        for n, e in encoders.items()
    }
    sizes = {
        (n, f): len(e.encode(image, quality=quality[n]))  # also the warm-up
        for n, e in encoders.items()
        for f, image in frames.items()
    }
    times: dict[tuple[str, str], list[float]] = {key: [] for key in sizes}
    for _ in range(args.repeats):
        for (name, frame), series in times.items():
            image, encoder = frames[frame], encoders[name]
            series.append(
                _seconds(lambda e=encoder, i=image, q=quality[name]: e.encode(i, quality=q))
            )
    result = _report(times, sizes, quality, colour, source, args)
    if args.sequence_frames > 0:
        result["sequence"] = video_sequence(args.sequence_frames, args.fps, args.threads)
    write_report(result, args.out, indent=None)
    return result


def _report(times, sizes, quality, colour: np.ndarray, source: str, args) -> dict[str, object]:
    pixels = colour.shape[0] * colour.shape[1]
    medians = {key: statistics.median(series) for key, series in times.items()}
    codecs = {
        name: {
            frame: {
                "median_s": medians[(name, frame)],
                "ratio_vs_jpeg": medians[(name, frame)] / medians[("jpeg", frame)],
                "bpp": 8 * sizes[(name, frame)] / pixels,
            }
            for frame in ("colour", "grey")
        }
        | {"quality": quality[name]}
        for name in {name for name, _ in times}
    }
    result: dict[str, object] = {
        "benchmark": "encode_speed",
        "frame": f"{colour.shape[1]}x{colour.shape[0]}, {source} (colour and grey)",
        "repeats": args.repeats,
        "threads": args.threads,
        "avif_speed": AVIF_SPEED,
        "codecs": codecs,
        "environment": environment(),
    }
    if "candidate" in codecs:
        result |= {
            "candidate": str(args.weights_dir),
            "candidate_ratio_vs_dsin": medians[("candidate", "colour")]
            / medians[("dsin", "colour")],
        }
    return result


if __name__ == "__main__":
    main()
