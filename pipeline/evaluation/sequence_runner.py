"""Code every stereo sequence, whole, with every codec and setting, and score each left frame.

Image codecs code each frame on its own (:func:`pipeline.evaluation.runner.evaluate` on the
sequence's frames, their ``*_si`` rows through the decoder the daemon runs). Video codecs code
each view as one stream at a camera's settings (:mod:`pipeline.evaluation.video_streams`: a
keyframe every second at the sequence's rate) and their ``*_si`` rows take the decoder's path
for a video frame (:class:`pipeline.evaluation.video_si.VideoSI`). Rows are per frame;
:func:`sequence_rows` sums them into one row per sequence, codec and setting.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import av
import numpy as np
import torch
from tqdm import tqdm

from pipeline.codec.bitstream.errors import CodecError
from pipeline.codec.inputs import read_image
from pipeline.codec.standard import AVIF_SPEED
from pipeline.codec.video import VideoSettings
from pipeline.codec.video.profiles import known_profiles
from pipeline.evaluation.classic import ClassicCodec
from pipeline.evaluation.eval_cache import EvalCache
from pipeline.evaluation.images import PairFiles
from pipeline.evaluation.metadata import versions
from pipeline.evaluation.quality import capped_psnr, ms_ssim
from pipeline.evaluation.runner import (
    EvaluationPlan,
    EvaluationResult,
    evaluate,
    score_row,
    tick,
)
from pipeline.evaluation.sequences import SequenceFiles, frames_key
from pipeline.evaluation.standard_si import StandardSI
from pipeline.evaluation.video_si import VideoSI
from pipeline.evaluation.video_streams import CodedSequence, code_sequence

KEYFRAME_INTERVAL_S = 1.0
"""Seconds between keyframes in the evaluated streams: the cameras' default."""


@dataclass(frozen=True)
class VideoGrid:
    """A video codec and the CRFs it is evaluated at."""

    codec: str
    crfs: tuple[int, ...]


@dataclass
class SequencePlan:
    """What to run on which sequences: image codecs (``standard_si``: those also decoded with
    side information by ``standard``), video codecs (``video_si``: those also decoded with side
    information by ``side``), the frame rate, and the cache (None: nothing is kept)."""

    sequences: Sequence[SequenceFiles]
    classic: Sequence[ClassicCodec] = ()
    standard: StandardSI | None = None
    standard_si: frozenset[str] = frozenset()
    video: Sequence[VideoGrid] = ()
    side: VideoSI | None = None
    video_si: frozenset[str] = frozenset()
    fps: float = 10.0
    cache: EvalCache | None = None
    encoders: dict[str, str | None] = field(default_factory=dict)
    """Filled in by the run: the FFmpeg encoder each video codec used."""

    def settings(self, codec: str, crf: int) -> VideoSettings:
        """A camera's settings for ``codec`` at ``crf`` and the sequence's rate."""
        return VideoSettings(
            codec=codec, fps=self.fps, crf=crf, keyframe_interval_s=KEYFRAME_INTERVAL_S
        )


def count_steps(plan: SequencePlan) -> int:
    """Units of work (one frame at one setting) :func:`evaluate_sequences` reports."""
    settings = sum(len(c.qualities) for c in plan.classic) + sum(len(v.crfs) for v in plan.video)
    return settings * sum(len(s.frames) for s in plan.sequences)


def evaluate_sequences(plan: SequencePlan, progress: tqdm | None = None) -> EvaluationResult:
    """One row per (frame, codec, setting); a setting that fails on a sequence is recorded in
    ``failures`` and the rest goes on."""
    result = EvaluationResult()
    for sequence in plan.sequences:
        for codec in plan.classic:
            _image_codec(plan, sequence, codec, result, progress)
        for grid in plan.video:
            for crf in grid.crfs:
                try:
                    result.rows += _video_setting(plan, sequence, grid.codec, crf)
                except (ValueError, RuntimeError, CodecError, av.error.FFmpegError) as error:
                    result.failures.append(_failure(sequence, grid.codec, crf, error))
                tick(progress, f"{sequence.name} {grid.codec} crf={crf}", len(sequence.frames))
    return result


def _image_codec(
    plan: SequencePlan,
    sequence: SequenceFiles,
    codec: ClassicCodec,
    result: EvaluationResult,
    progress: tqdm | None,
) -> None:
    """Every frame at every quality of ``codec`` (from the cache when it holds them)."""
    with_si = codec.name in plan.standard_si and plan.standard is not None
    path = None
    if plan.cache is not None:
        key = _image_key(plan, sequence, codec, with_si)
        path = plan.cache.path(sequence.name, codec.name, key, ".json")
        cached = plan.cache.load_rows(path)
        if cached is not None:
            result.rows += cached
            tick(progress, f"{sequence.name} {codec.name} cached", _steps(sequence, codec))
            return
    one = EvaluationPlan(
        sequence.frames,
        [codec],
        standard=plan.standard if with_si else None,
        standard_si=frozenset({codec.name}) if with_si else frozenset(),
    )
    done = evaluate(one, progress)
    result.rows += done.rows
    result.failures += done.failures
    if path is not None and not done.failures:
        plan.cache.save_rows(path, done.rows)


def _steps(sequence: SequenceFiles, codec: ClassicCodec) -> int:
    return len(sequence.frames) * len(codec.qualities)


def _image_key(
    plan: SequencePlan, sequence: SequenceFiles, codec: ClassicCodec, with_si: bool
) -> dict:
    key = {
        "kind": "image",
        "frames": frames_key(sequence.frames),
        "codec": codec.name,
        "qualities": list(codec.qualities),
        "avif_speed": AVIF_SPEED,
        "versions": versions(),
    }
    if with_si:
        decoder = plan.standard.decoder
        key |= {
            "si_weights": plan.standard.weights_hash,
            "ensemble": decoder.self_ensemble,
            "device": str(decoder.device),
            "dtype": str(decoder.dtype),
        }
    return key


def _video_setting(plan: SequencePlan, sequence: SequenceFiles, codec: str, crf: int) -> list:
    """The rows of ``codec`` at ``crf`` on ``sequence``: the stream decoded alone (and the
    right view's figures), and with side information when asked; the streams and the
    SI-Finder's results come from the cache when it holds them."""
    with_si = codec in plan.video_si and plan.side is not None
    settings = plan.settings(codec, crf)
    path = None
    stored = None
    if plan.cache is not None:
        key = _video_key(plan, sequence, settings, with_si)
        path = plan.cache.path(sequence.name, f"{codec}-crf{crf}", key, ".npz")
        stored = plan.cache.load_arrays(path)
    if stored is None:
        stored = _code_and_find(plan, sequence, settings, with_si)
        if path is not None:
            plan.cache.save_arrays(path, stored)
    plan.encoders[codec] = str(stored["encoder"])
    rows = json.loads(str(stored["rows"]))
    if with_si:
        rows += _cached_si_rows(plan, sequence, codec, crf, rows, stored, path)
    return rows


def _cached_si_rows(
    plan: SequencePlan,
    sequence: SequenceFiles,
    codec: str,
    crf: int,
    plain: list[dict],
    stored: dict[str, np.ndarray],
    streams: Path | None,
) -> list[dict]:
    """:func:`_si_rows`, kept beside the streams' entry under the SI-Net's weights hash."""
    side = plan.side
    path = None
    if plan.cache is not None and streams is not None:
        key = {"streams": streams.name, "si_weights": side.weights_hash}
        key |= {"ensemble": side.ensemble, "dtype": str(side.dtype)}
        path = plan.cache.path(sequence.name, f"{codec}_si-crf{crf}", key, ".json")
        cached = plan.cache.load_rows(path)
        if cached is not None:
            return cached
    rows = _si_rows(side, sequence, codec, crf, plain, stored)
    if path is not None:
        plan.cache.save_rows(path, rows)
    return rows


def _video_key(
    plan: SequencePlan, sequence: SequenceFiles, settings: VideoSettings, with_si: bool
) -> dict:
    return {
        "kind": "video",
        "frames": frames_key(sequence.frames),
        "settings": asdict(settings),
        "keyframe_interval": settings.keyframe_interval,
        "encoder_options": {
            name: profile.options(settings)
            for name, profile in known_profiles(settings.codec).items()
        },
        "finder": asdict(plan.side.finder) if with_si else None,
        "device": str(plan.side.device) if with_si else None,
        "versions": versions() | {"av": av.__version__, "ffmpeg": av.library_versions},
    }


def _code_and_find(
    plan: SequencePlan, sequence: SequenceFiles, settings: VideoSettings, with_si: bool
) -> dict[str, np.ndarray]:
    """Code both streams, score the left frames decoded alone and the right ones, and run the
    SI-Finder on every frame when asked: what a cache entry holds."""
    images = [(read_image(f.left), read_image(f.right)) for f in sequence.frames]
    coded = code_sequence(settings, images)
    rows = [
        _plain_row(frame, settings, original, views)
        for frame, original, views in zip(sequence.frames, images, coded.frames, strict=True)
    ]
    stored: dict[str, np.ndarray] = {
        "rows": np.array(json.dumps(rows)),
        "encoder": np.array(coded.encoder or ""),
    }
    for index, (left, _) in enumerate(coded.frames):
        stored[f"left_{index}"] = left.decoded
        stored[f"container_{index}"] = np.frombuffer(left.container, np.uint8)
    if with_si:
        stored |= _found(plan.side, coded)
    return stored


def _found(side: VideoSI, coded: CodedSequence) -> dict[str, np.ndarray]:
    """Y_syn and confidence of every frame (one plane where the three are equal, as for
    grey frames), and the seconds each search took."""
    found: dict[str, np.ndarray] = {}
    seconds = []
    for index, (left, right) in enumerate(coded.frames):
        start = time.perf_counter()
        y_syn, confidence = side.find(left.decoded, right.decoded)
        seconds.append(time.perf_counter() - start)
        found[f"y_syn_{index}"] = _planes(y_syn.cpu()).numpy()
        found[f"confidence_{index}"] = confidence.cpu().numpy()
    found["finder_s"] = np.array(seconds)
    return found


def _planes(image: torch.Tensor) -> torch.Tensor:
    """One plane of a (3, H, W) image whose planes are equal, else the image."""
    same = torch.equal(image[0], image[1]) and torch.equal(image[0], image[2])
    return image[:1] if same else image


def _plain_row(frame: PairFiles, settings: VideoSettings, images, views) -> dict:
    """The left frame decoded alone (its packet's bytes), the right view's figures beside."""
    (left, right), (coded_left, coded_right) = images, views
    row = score_row(
        frame, settings.codec, settings.quality, left, coded_left.decoded, coded_left.packet_bytes
    )
    right_pixels = right.shape[0] * right.shape[1]
    return row | {
        "keyframe": coded_left.keyframe,
        "container_bytes": len(coded_left.container),
        "encode_s": coded_left.encode_s,
        "decode_s": coded_left.decode_s,
        "right_pixels": right_pixels,
        "right_bytes": coded_right.packet_bytes,
        "right_container_bytes": len(coded_right.container),
        "right_bpp": coded_right.packet_bytes * 8 / right_pixels,
        "right_psnr": capped_psnr(right, coded_right.decoded),
        "right_ms_ssim": ms_ssim(right, coded_right.decoded),
    }


def _si_rows(
    side: VideoSI,
    sequence: SequenceFiles,
    codec: str,
    crf: int,
    plain: list[dict],
    stored: dict[str, np.ndarray],
) -> list[dict]:
    """The left frames decoded with side information: the camera's container's bytes, the
    right view's container as ``side_bytes``; decode time = stream decode + SI-Finder +
    SI-Net."""
    rows = []
    for index, (frame, alone) in enumerate(zip(sequence.frames, plain, strict=True)):
        left = read_image(frame.left)
        container = stored[f"container_{index}"].tobytes()
        y_syn = torch.from_numpy(stored[f"y_syn_{index}"]).expand(3, -1, -1)
        confidence = torch.from_numpy(stored[f"confidence_{index}"])
        start = time.perf_counter()
        fused = side.fuse(container, stored[f"left_{index}"], y_syn, confidence)
        net_s = time.perf_counter() - start
        finder_s = float(stored["finder_s"][index])
        row = score_row(frame, f"{codec}_si", crf, left, fused, len(container))
        side_bytes = alone["right_container_bytes"]
        rows.append(
            row
            | {
                "keyframe": alone["keyframe"],
                "encode_s": alone["encode_s"],
                "decode_s": alone["decode_s"] + finder_s + net_s,
                "si_finder_s": finder_s,
                "si_net_s": net_s,
                "side_bytes": side_bytes,
                "side_bpp": side_bytes * 8 / (row["height"] * row["width"]),
            }
        )
    return rows


_SUMS = ("bytes", "side_bytes", "right_bytes")
_MEANS = ("psnr", "ms_ssim", "right_psnr", "right_ms_ssim", "encode_s", "decode_s")
_MEANS += ("si_finder_s", "si_net_s")


def sequence_rows(rows: Iterable[dict]) -> list[dict]:
    """One row per (sequence, codec, setting): bpp = all left frames' bits over all their
    pixels (``side_bpp`` and ``right_bpp`` likewise), quality figures and seconds the mean
    over the frames, ``frames`` and ``keyframes`` counted."""
    groups: dict[tuple[str, str, int], list[dict]] = defaultdict(list)
    for row in rows:
        groups[(row["set"], row["codec"], row["quality"])].append(row)
    result = []
    for (name, codec, quality), members in groups.items():
        pixels = sum(row["height"] * row["width"] for row in members)
        point: dict = {"set": name, "codec": codec, "quality": quality, "frames": len(members)}
        point["pixels"] = pixels
        for key in _SUMS:
            values = [row[key] for row in members if key in row]
            if values:
                area = _right_pixels(members) if key == "right_bytes" else pixels
                point[key] = int(sum(values))
                point[key.replace("bytes", "bpp")] = sum(values) * 8 / area
        for key in _MEANS:
            values = [row[key] for row in members if key in row]
            if values:
                point[key] = float(np.mean(values))
        if "keyframe" in members[0]:
            point["keyframes"] = sum(bool(row["keyframe"]) for row in members)
        result.append(point)
    return result


def _right_pixels(rows: list[dict]) -> int:
    return sum(row["right_pixels"] for row in rows)


def _failure(sequence: SequenceFiles, codec: str, quality: int, error: Exception) -> dict:
    return {
        "set": sequence.name,
        "pair": "*",
        "codec": codec,
        "quality": quality,
        "error": f"{type(error).__name__}: {error}",
    }
