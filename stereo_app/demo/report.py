"""The demo report: quality against re-rendered originals, bits per pixel, latency percentiles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pipeline.evaluation.quality import PSNR_CAP_DB, psnr
from pipeline.scene import render_stereo_frame

STAGES = (
    "network",
    "pairing",
    "queue",
    "entropy_decode",
    "synthesis",
    "si_finder",
    "si_net",
    "sink",
    "end_to_end",
)
"""Stages of the timing records, in data-path order (``decoder_node/sinks/timing.py``)."""


def read_timing(path: Path) -> list[dict[str, Any]]:
    """The decoder's per-view timing records (empty if the file is missing)."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def percentiles(values: list[float]) -> dict[str, float | None]:
    """p50/p95/p99 in milliseconds (None when there are no values)."""
    if not values:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None}
    p50, p95, p99 = np.percentile(np.asarray(values) * 1000.0, [50, 95, 99])
    return {
        "p50_ms": round(float(p50), 2),
        "p95_ms": round(float(p95), 2),
        "p99_ms": round(float(p99), 2),
    }


def stage_latencies(records: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Percentiles of every stage over all decoded views."""
    return {s: percentiles([r[s] for r in records if r.get(s) is not None]) for s in STAGES}


def mean_bpp(records: list[dict[str, Any]], side: str) -> float | None:
    """Mean coded bits per pixel of the decoded views of ``side``."""
    values = [r["bpp"] for r in records if r["side"] == side]
    return round(float(np.mean(values)), 4) if values else None


def read_rgb(path: Path) -> np.ndarray | None:
    """An RGB image from a PNG, or None when it is missing or unreadable."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return None if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def quality(
    decoded_dir: Path, rig: str, seqs: list[int], size: tuple[int, int], seed: int
) -> dict[str, Any]:
    """Mean per-frame PSNR of left alone, left with SI and right over ``seqs``."""
    width, height = size
    scores: dict[str, list[float]] = {"left_alone": [], "left": [], "right": []}
    for seq in seqs:
        left, right = render_stereo_frame(seq, width, height, seed)
        for view, original in (("left_alone", left), ("left", left), ("right", right)):
            image = read_rgb(decoded_dir / rig / view / f"{seq:06d}.png")
            if image is not None:
                scores[view].append(min(psnr(image, original), PSNR_CAP_DB))
    mean = {k: round(float(np.mean(v)), 3) if v else None for k, v in scores.items()}
    return {
        "psnr_left_alone": mean["left_alone"],
        "psnr_left_si": mean["left"],
        "psnr_right": mean["right"],
        "psnr_frames": len(scores["left"]),
    }


def paired_left_seqs(records: list[dict[str, Any]]) -> list[int]:
    """Seqs of left views decoded with side information."""
    return sorted(r["seq"] for r in records if r["side"] == "left" and r["paired"])


def spread(seqs: list[int], count: int) -> list[int]:
    """At most ``count`` seqs evenly spread over ``seqs``."""
    if len(seqs) <= count:
        return list(seqs)
    picks = np.linspace(0, len(seqs) - 1, count).round().astype(int)
    return [seqs[i] for i in sorted(set(picks.tolist()))]


def save_samples(
    decoded_dir: Path, out: Path, rig: str, seqs: list[int], size: tuple[int, int], seed: int
) -> list[str]:
    """Copy a few decoded views next to their originals under ``out``; the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for seq in seqs:
        left, _right = render_stereo_frame(seq, size[0], size[1], seed)
        views = {"left_original": left}
        for view in ("left_alone", "left", "right"):
            image = read_rgb(decoded_dir / rig / view / f"{seq:06d}.png")
            if image is not None:
                views["left_si" if view == "left" else view] = image
        for name, image in views.items():
            path = out / f"{seq:06d}_{name}.png"
            cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
            written.append(str(path))
    return written


def _nonzero(counts: dict) -> dict:
    """``counts`` without zero entries (nested one level)."""
    out = {}
    for key, value in counts.items():
        if isinstance(value, dict):
            value = _nonzero(value)
            if value:
                out[key] = value
        elif value:
            out[key] = int(value)
    return out


def format_report(report: dict[str, Any]) -> str:
    """The report as a few human-readable lines."""
    dropped = _nonzero(report["frames_dropped"]) or "none"
    lines = [
        f"camera codec     {report['config']['codec']}",
        f"frames sent      {report['frames_sent']}",
        f"frames decoded   {report['frames_decoded']}  ({report['decoded_ratio']:.1%} of sent)",
        f"frames dropped   {dropped}",
        f"left paired      {report['frames_paired']} of {report['frames_decoded']['left']}"
        " (decoded with the right view as side information)",
        f"capture missed   {report['capture_slots_missed']}  (capture times a camera passed over"
        " while slower than --fps)",
        f"bits per pixel   left {report['left_bpp']}  right {report['right_bpp']}",
        f"PSNR left alone  {report['psnr_left_alone']} dB   with SI {report['psnr_left_si']} dB"
        f"   right {report['psnr_right']} dB   ({report['psnr_frames']} frames)",
        f"wall time        {report['wall_seconds']} s  (device {report['device']})",
        "latency (ms)           p50        p95        p99",
    ]
    for stage, p in report["latency"].items():
        cells = "".join(f"{'-' if v is None else v:>11}" for v in p.values())
        lines.append(f"  {stage:<15}{cells}")
    lines.append(
        "  (decode stages are per batch; queue and end_to_end include any backlog that builds"
        " while the decoder is slower than the cameras)"
    )
    return "\n".join(lines)
