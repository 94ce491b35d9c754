"""libx264 presets at a camera's settings: bits at equal PSNR, and encode time beside AVIF's.

Chooses the camera's H.264 preset (``pipeline.codec.video.profiles.X264_PRESET``). For each
preset, everything else as a camera codes (``tune=zerolatency``, a keyframe a second, one
thread): the left view of each evaluation sequence coded whole at ``--crfs``, its BD-rate on PSNR
against ``veryfast``; then the median encode time of a frame at 640x480 (the first 95 frames of
``euroc_v1_01``, as ``benchmarks/encode_speed.py`` times them) with AVIF speed 8 at its default
quality coded frame by frame in turn, and each preset's ratio to AVIF's time.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from pathlib import Path

import numpy as np

from benchmarks.common import DATA, SEQUENCE, environment, write_report
from pipeline.codec.inputs import read_image
from pipeline.codec.standard import STANDARD_CODECS
from pipeline.codec.video import VideoEncoder, VideoSettings, VideoStreamDecoder, profiles
from pipeline.evaluation.bd_rate import bd_rate
from pipeline.evaluation.quality import psnr
from pipeline.evaluation.sequences import find_sequence

PRESETS = ("veryfast", "faster", "fast", "medium")
SEQUENCES = {"karlsruhe_0023": 10.0, "euroc_v1_01": 20.0}


def _encoder(preset: str, fps: float, width: int, height: int, crf: int | None = None):
    """A camera's libx264 encoder with ``preset`` instead of the camera's."""
    camera = profiles.SOFTWARE_ENCODERS["h264"]
    profile = dataclasses.replace(camera, options=lambda s: camera.options(s) | {"preset": preset})
    settings = VideoSettings(codec="h264", encoder="libx264", fps=fps, crf=crf)
    profiles.SOFTWARE_ENCODERS["h264"] = profile
    try:
        return VideoEncoder(settings, width, height, 1)
    finally:
        profiles.SOFTWARE_ENCODERS["h264"] = camera


def _point(frames: list[np.ndarray], preset: str, fps: float, crf: int) -> dict[str, float]:
    """Bits per pixel and mean PSNR of ``frames`` coded as one stream."""
    height, width = frames[0].shape
    bits, scores = 0, []
    with _encoder(preset, fps, width, height, crf) as encoder:
        decoder = VideoStreamDecoder("h264", 1)
        for frame in frames:
            packet = encoder.encode(frame)
            bits += 8 * len(packet.data)
            scores.append(psnr(frame, decoder.decode(packet).image))
    return {
        "crf": crf,
        "bpp": bits / (len(frames) * height * width),
        "psnr": float(np.mean(scores)),
    }


def _left_frames(data: Path, name: str, limit: int | None) -> list[np.ndarray]:
    return [read_image(f.left) for f in find_sequence(data / "stereo" / name, limit).frames]


def rate_distortion(data: Path, crfs: list[int], limit: int | None) -> dict[str, object]:
    """Per sequence and preset: the RD points and the BD-rate against ``veryfast``."""
    result: dict[str, object] = {}
    for name, fps in SEQUENCES.items():
        frames = _left_frames(data, name, limit)
        points = {p: [_point(frames, p, fps, crf) for crf in crfs] for p in PRESETS}
        base = points[PRESETS[0]]
        result[name] = {
            preset: {
                "points": curve,
                "bd_rate_vs_veryfast": bd_rate(
                    [b["bpp"] for b in base],
                    [b["psnr"] for b in base],
                    [c["bpp"] for c in curve],
                    [c["psnr"] for c in curve],
                ),
            }
            for preset, curve in points.items()
        }
    return result


def speed(data: Path, count: int) -> dict[str, dict[str, float]]:
    """Median seconds a 640x480 frame per preset and AVIF speed 8, and the ratio to AVIF's:
    ``euroc_v1_01``'s first ``count`` left frames centre-cropped as ``real_sequence`` crops."""
    height, width = 480, 640
    frames = [_centre(f, height, width) for f in _left_frames(data, SEQUENCE, count)]
    avif = STANDARD_CODECS["avif"]
    encoders = {p: _encoder(p, SEQUENCES["euroc_v1_01"], width, height) for p in PRESETS}
    seconds: dict[str, list[float]] = {name: [] for name in (*PRESETS, "avif")}
    for frame in frames:
        for preset, encoder in encoders.items():
            start = time.perf_counter()
            encoder.encode(frame)
            seconds[preset].append(time.perf_counter() - start)
        start = time.perf_counter()
        avif.encode(frame, avif.default_quality)
        seconds["avif"].append(time.perf_counter() - start)
    for encoder in encoders.values():
        encoder.close()
    medians = {name: statistics.median(series) for name, series in seconds.items()}
    return {
        name: {"median_s": median, "ratio_vs_avif": median / medians["avif"]}
        for name, median in medians.items()
    }


def _centre(image: np.ndarray, height: int, width: int) -> np.ndarray:
    top, left = (image.shape[0] - height) // 2, (image.shape[1] - width) // 2
    return np.ascontiguousarray(image[top : top + height, left : left + width])


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the benchmark and return (and print) its result."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--crfs", type=int, nargs="+", default=[18, 23, 28, 33, 38])
    parser.add_argument("--limit", type=int, default=None, help="first N frames a sequence")
    parser.add_argument("--speed-frames", type=int, default=95)
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    result = {
        "environment": environment(),
        "rate_distortion": rate_distortion(args.data, args.crfs, args.limit),
        "speed_640x480": speed(args.data, args.speed_frames),
    }
    write_report(result, args.out)
    return result


if __name__ == "__main__":
    main()
