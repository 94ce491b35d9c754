"""Code every stereo pair at every quality with every codec and score the left view."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from pipeline.codec.bitstream.errors import CodecError
from pipeline.codec.inputs import read_image
from pipeline.evaluation.classic import ClassicCodec
from pipeline.evaluation.coded_pair import CodedPair
from pipeline.evaluation.images import PairFiles
from pipeline.evaluation.ours import OursCodec
from pipeline.evaluation.quality import capped_psnr, ms_ssim
from pipeline.evaluation.standard_si import StandardSI


@dataclass
class EvaluationPlan:
    """What to run: the pairs, the conventional codecs, our codec (or None to skip it), and
    the standard codecs to decode with side information too (``standard_si``, by name)."""

    pairs: Sequence[PairFiles]
    classic: Sequence[ClassicCodec]
    ours: OursCodec | None = None
    ours_qualities: Sequence[int] = ()
    meta: dict[str, object] = field(default_factory=dict)
    standard: StandardSI | None = None
    standard_si: frozenset[str] = frozenset()

    @property
    def needs_right(self) -> bool:
        """True when some codec decodes the left view with the right one."""
        return self.ours is not None or bool(self.standard_si)


@dataclass
class EvaluationResult:
    """Per-pair rows, and the pairs or settings that failed (with the reason), which are skipped."""

    rows: list[dict] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)


def evaluate(plan: EvaluationPlan, progress: tqdm | None = None) -> EvaluationResult:
    """One row per (pair, codec, quality), each with bytes, bpp, PSNR and MS-SSIM.

    A pair that cannot be read, or a codec that fails on one setting, is recorded in
    ``failures`` and the evaluation goes on with the rest.
    """
    result = EvaluationResult()
    for pair in plan.pairs:
        try:
            left = read_image(pair.left)
            right = read_image(pair.right) if plan.needs_right else None
        except ValueError as error:
            result.failures.append(_failure(pair, "*", None, error))
            tick(progress, f"{pair.set_name}/{pair.name} unreadable", steps_per_pair(plan))
            continue
        for codec in plan.classic:
            with_si = codec.name in plan.standard_si and plan.standard is not None
            for quality in codec.qualities:
                if with_si:
                    args = (left, right, plan.standard, codec.name, quality)
                    _attempt(result, pair, codec.name, quality, _standard_rows, *args)
                else:
                    _attempt(result, pair, codec.name, quality, _classic_row, left, codec, quality)
                tick(progress, f"{pair.set_name}/{pair.name} {codec.name} q={quality}")
        for quality in plan.ours_qualities if plan.ours is not None else ():
            _attempt(result, pair, "ours", quality, _ours_rows, left, right, plan.ours, quality)
            tick(progress, f"{pair.set_name}/{pair.name} ours q={quality}")
    return result


def _attempt(
    result: EvaluationResult,
    pair: PairFiles,
    codec: str,
    quality: int,
    make: Callable[..., dict | list[dict]],
    *args: object,
) -> None:
    try:
        made = make(pair, *args)
    except (ValueError, RuntimeError, CodecError) as error:
        result.failures.append(_failure(pair, codec, quality, error))
        return
    result.rows.extend(made if isinstance(made, list) else [made])


def _failure(pair: PairFiles, codec: str, quality: int | None, error: Exception) -> dict:
    return {
        "set": pair.set_name,
        "pair": pair.name,
        "codec": codec,
        "quality": quality,
        "error": f"{type(error).__name__}: {error}",
    }


def steps_per_pair(plan: EvaluationPlan) -> int:
    """Units of work one pair reports to the progress bar."""
    per_pair = sum(len(codec.qualities) for codec in plan.classic)
    return per_pair + (len(plan.ours_qualities) if plan.ours is not None else 0)


def count_steps(plan: EvaluationPlan) -> int:
    """Units of work ``evaluate`` reports to the progress bar."""
    return steps_per_pair(plan) * len(plan.pairs)


def tick(progress: tqdm | None, label: str, steps: int = 1) -> None:
    """Advance ``progress`` (if any) by ``steps``, showing ``label``."""
    if progress is not None:
        progress.set_postfix_str(label, refresh=False)
        progress.update(steps)


def _classic_row(pair: PairFiles, left: np.ndarray, codec: ClassicCodec, quality: int) -> dict:
    start = time.perf_counter()
    data = codec.encode(left, quality)
    encode_seconds = time.perf_counter() - start
    start = time.perf_counter()
    decoded = codec.decode(data, 1 if left.ndim == 2 else left.shape[2])
    decode_seconds = time.perf_counter() - start
    return score_row(pair, codec.name, quality, left, decoded, len(data)) | {
        "encode_s": encode_seconds,
        "decode_s": decode_seconds,
    }


def _standard_rows(
    pair: PairFiles,
    left: np.ndarray,
    right: np.ndarray,
    standard: StandardSI,
    codec: str,
    quality: int,
) -> list[dict]:
    """The plain codec's row (its file bytes) and its ``*_si`` row (the container's bytes)."""
    return _pair_rows(pair, left, codec, quality, standard.run(codec, left, right, quality))


def _ours_rows(
    pair: PairFiles, left: np.ndarray, right: np.ndarray, ours: OursCodec, quality: int
) -> list[dict]:
    side_quality = ours.side_quality if ours.side_quality is not None else quality
    result = ours.run(left, right, quality)
    return _pair_rows(pair, left, "ours", quality, result, {"side_quality": side_quality})


def _pair_rows(
    pair: PairFiles,
    left: np.ndarray,
    name: str,
    quality: int,
    result: CodedPair,
    extra: dict | None = None,
) -> list[dict]:
    """``name``'s row (the left view alone) and ``name_si``'s (the left bitstream decoded with
    the right view; ``extra`` fields, then the right view's cost, added)."""
    timing = {"encode_s": result.encode_seconds, "decode_s": result.decode_seconds}
    alone = score_row(pair, name, quality, left, result.left_alone, result.alone_bytes) | timing
    si_bytes = len(result.left_bits)
    with_side = score_row(pair, f"{name}_si", quality, left, result.left_si, si_bytes) | timing
    side_bytes = len(result.right_bits)
    pixels = left.shape[0] * left.shape[1]
    with_side |= (extra or {}) | {"side_bytes": side_bytes, "side_bpp": side_bytes * 8 / pixels}
    return [alone, with_side]


def score_row(
    pair: PairFiles, codec: str, quality: int, original: np.ndarray, decoded: np.ndarray, size: int
) -> dict:
    """The common fields of a row: the frame, codec and setting, the size, ``size`` bytes over
    the view's pixels, PSNR and MS-SSIM of ``decoded`` against ``original``."""
    height, width = original.shape[:2]
    return {
        "set": pair.set_name,
        "pair": pair.name,
        "codec": codec,
        "quality": quality,
        "height": height,
        "width": width,
        "channels": 1 if original.ndim == 2 else original.shape[2],
        "bytes": size,
        "bpp": size * 8 / (height * width),
        "psnr": capped_psnr(original, decoded),
        "ms_ssim": ms_ssim(original, decoded),
    }
