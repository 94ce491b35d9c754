"""The video codecs' encode time on consecutive frames of a real sequence, beside AVIF's.

Part of ``benchmarks/encode_speed.py`` (its ``sequence`` entry): a video encoder's cost depends
on the frames before (motion search, references), so it is timed on a sequence in capture
order, never on one frame repeated.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

import numpy as np

from benchmarks.common import real_sequence
from pipeline.codec.standard import AVIF_SPEED, STANDARD_CODECS
from pipeline.codec.video import (
    VIDEO_CODECS,
    VideoEncoder,
    VideoPacket,
    VideoSettings,
    VideoStreamDecoder,
)
from pipeline.codec.video.profiles import SOFTWARE_ENCODERS
from pipeline.evaluation.quality import psnr


@dataclass
class _Series:
    """One codec's run over the sequence: seconds, sizes and keyframe flags a frame."""

    encoder: str
    setting: int
    seconds: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    keyframes: list[bool] = field(default_factory=list)
    decoded: list[np.ndarray] = field(default_factory=list)
    packets: list[VideoPacket] = field(default_factory=list)

    def figures(self, frames: list[np.ndarray]) -> dict[str, object]:
        pixels = len(frames) * frames[0].size
        pairs = zip(frames, self.decoded, strict=True)
        key_seconds = [s for s, k in zip(self.seconds, self.keyframes, strict=True) if k]
        return {
            "encoder": self.encoder,
            "setting": self.setting,
            "median_s": statistics.median(self.seconds),
            "mean_s": statistics.fmean(self.seconds),
            "keyframe_median_s": statistics.median(key_seconds),
            "bytes_per_frame": statistics.fmean(self.sizes),
            "bpp": 8 * sum(self.sizes) / pixels,
            "psnr": statistics.fmean(psnr(f, d) for f, d in pairs),
        }


def video_sequence(count: int, fps: float, threads: int) -> dict[str, object]:
    """Time every video codec and AVIF on the first ``count`` frames, frame by frame in turn."""
    frames, source = real_sequence(count)
    height, width = frames[0].shape
    encoders = {codec: _encoder(codec, fps, threads, width, height) for codec in VIDEO_CODECS}
    avif = STANDARD_CODECS["avif"]
    runs = {codec: _Series(e.name, e.settings.quality) for codec, e in encoders.items()}
    runs["avif"] = _Series(f"libavif speed {AVIF_SPEED}", avif.default_quality)
    for frame in frames:
        for codec, encoder in encoders.items():
            start = time.perf_counter()
            packet = encoder.encode(frame)
            _record(runs[codec], start, len(packet.data), packet.keyframe)
            runs[codec].packets.append(packet)
        start = time.perf_counter()
        data = avif.encode(frame, avif.default_quality)
        _record(runs["avif"], start, len(data), True)
        runs["avif"].decoded.append(avif.decode(data, 1, (height, width)))
    for codec, encoder in encoders.items():
        encoder.close()
        decoder = VideoStreamDecoder(codec, 1)
        runs[codec].decoded = [decoder.decode(p).image for p in runs[codec].packets]
    codecs = {name: run.figures(frames) for name, run in runs.items()}
    for figures in codecs.values():
        figures["ratio_vs_avif"] = figures["median_s"] / codecs["avif"]["median_s"]
    return {
        "frames": f"{width}x{height}, {source}",
        "fps": fps,
        "keyframe_interval_s": 1.0,
        "threads": threads,
        "codecs": codecs,
    }


def _encoder(codec: str, fps: float, threads: int, width: int, height: int) -> VideoEncoder:
    """A camera's encoder of ``codec``, its software one named (not ``auto``): CPU time."""
    name = SOFTWARE_ENCODERS[codec].name
    settings = VideoSettings(codec=codec, encoder=name, fps=fps, threads=threads)
    return VideoEncoder(settings, width, height, 1)


def _record(run: _Series, start: float, size: int, keyframe: bool) -> None:
    run.seconds.append(time.perf_counter() - start)
    run.sizes.append(size)
    run.keyframes.append(keyframe)
