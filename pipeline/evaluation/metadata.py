"""What ``rd.json`` records about the run: date, versions, device, model, inputs, settings."""

from __future__ import annotations

import argparse
import platform
from datetime import UTC, datetime
from importlib import metadata

import cv2
from PIL import features

from pipeline.codec.standard import AVIF_SPEED
from pipeline.evaluation.images import PairFiles
from pipeline.evaluation.runner import EvaluationPlan

_PACKAGES = ("stereo-pipeline", "torch", "compressai", "numpy", "pillow", "pytorch-msssim")


def run_metadata(
    plan: EvaluationPlan, args: argparse.Namespace, pairs: list[PairFiles], seconds: float
) -> dict:
    """Top-level metadata fields of ``rd.json``."""
    ours = plan.ours.describe() if plan.ours is not None else {}
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": versions(),
        "device": ours.get("device", "cpu"),
        "model_id": ours.get("model_id"),
        "weights_hash": ours.get("weights_hash"),
        "standard_si": _standard(plan),
        "inputs": _inputs(args, pairs),
        "qualities": {codec.name: list(codec.qualities) for codec in plan.classic}
        | ({"ours": list(plan.ours_qualities)} if plan.ours is not None else {}),
        "settings": {
            "side_quality": args.side_quality,
            "self_ensemble": ours.get("self_ensemble"),
            "avif_speed": AVIF_SPEED,
            "limit": args.limit,
            "max_pixels": args.max_pixels,
            "weights_dir": None if args.weights_dir is None else str(args.weights_dir),
        },
        "wall_seconds": round(seconds, 2),
    }


def _standard(plan: EvaluationPlan) -> dict | None:
    """The standard-codec SI-Net's weights hash and the codecs decoded with it, if any."""
    if plan.standard is None or not plan.standard_si:
        return None
    return {"codecs": sorted(plan.standard_si), "weights_hash": plan.standard.weights_hash}


def versions() -> dict[str, str | None]:
    """Versions of Python, the Python packages and the image libraries the codecs use."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    found["opencv"] = cv2.__version__
    found["libavif"] = features.version("avif")
    found["libwebp (pillow)"] = features.version("webp")
    return found


def _inputs(args: argparse.Namespace, pairs: list[PairFiles]) -> list[dict]:
    counts: dict[str, int] = {}
    for pair in pairs:
        counts[pair.set_name] = counts.get(pair.set_name, 0) + 1
    return [
        {"set": folder.name, "path": str(folder), "pairs": counts.get(folder.name, 0)}
        for folder in args.pairs
    ]
