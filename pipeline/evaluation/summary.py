"""Average per-pair rows into rate-distortion curves and compare the curves (BD-rate)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

from pipeline.codec.video.settings import VIDEO_CODECS
from pipeline.evaluation.bd_rate import CurveError, bd_psnr, bd_rate

ANCHOR = "jpeg"
"""Every codec's BD-rate is also given against this anchor, the most widely deployed codec."""

SI_PAIRS = tuple((name, f"{name}_si") for name in ("ours", "jpeg", "webp", "avif", *VIDEO_CODECS))
"""(anchor, test): the gain of decoding with side information over decoding alone."""

_MEANS = ("bpp", "psnr", "ms_ssim", "side_bpp", "encode_s", "decode_s")
_MEANS += ("right_bpp", "right_psnr", "right_ms_ssim")


def curves(rows: Iterable[dict]) -> dict[str, list[dict]]:
    """Codec name to its RD points, one per quality, averaged over pairs, sorted by bpp."""
    groups: dict[tuple[str, int], list[dict]] = defaultdict(list)
    for row in rows:
        groups[(row["codec"], row["quality"])].append(row)
    result: dict[str, list[dict]] = defaultdict(list)
    for (codec, quality), members in groups.items():
        point: dict = {"quality": quality, "pairs": len(members)}
        if all("frames" in row for row in members):  # sequences: their frames too
            point["frames"] = sum(row["frames"] for row in members)
        for key in _MEANS:
            values = [row[key] for row in members if key in row]
            if values:
                point[key] = float(np.mean(values))
        result[codec].append(point)
    return {name: sorted(points, key=lambda p: p["bpp"]) for name, points in result.items()}


def comparisons(
    codec_curves: dict[str, list[dict]], anchors: Sequence[str] = (ANCHOR,)
) -> dict[str, dict]:
    """BD-rate (PSNR and MS-SSIM in dB) and BD-PSNR of each codec against each of ``anchors``,
    and of each side-information row against its own codec (:data:`SI_PAIRS`).

    Returns ``{"bd_rate": {anchor: {test: percent}}, "bd_rate_ms_ssim": ..., "bd_psnr":
    {anchor: {test: dB}}}``; a value is None where the two curves do not overlap.
    """
    pairs = [(a, name) for a in anchors for name in codec_curves if name != a]
    pairs += [p for p in SI_PAIRS if p not in pairs and all(n in codec_curves for n in p)]
    tables: dict[str, dict] = {"bd_rate": {}, "bd_rate_ms_ssim": {}, "bd_psnr": {}}
    for anchor, test in pairs:
        if anchor not in codec_curves:
            continue
        a, t = codec_curves[anchor], codec_curves[test]
        tables["bd_rate"].setdefault(anchor, {})[test] = _safe(bd_rate, a, t, "psnr")
        tables["bd_rate_ms_ssim"].setdefault(anchor, {})[test] = _safe(bd_rate, a, t, "ms_ssim_db")
        tables["bd_psnr"].setdefault(anchor, {})[test] = _safe(bd_psnr, a, t, "psnr")
    return tables


def ms_ssim_db(value: float) -> float:
    """MS-SSIM on a decibel scale, -10 log10(1 - MS-SSIM), as CompressAI plots it."""
    return -10.0 * math.log10(max(1.0 - value, 1e-10))


def _safe(function, anchor: Sequence[dict], test: Sequence[dict], metric: str) -> float | None:
    def column(points: Sequence[dict]) -> list[float]:
        if metric == "ms_ssim_db":
            return [ms_ssim_db(p["ms_ssim"]) for p in points]
        return [p[metric] for p in points]

    try:
        value = function(
            [p["bpp"] for p in anchor], column(anchor), [p["bpp"] for p in test], column(test)
        )
    except CurveError:
        return None
    return round(value, 4)
