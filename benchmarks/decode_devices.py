"""Decode the same real bitstreams on every device: stage timings, and agreement between them.

Encodes ``--limit`` real pairs on the CPU (left primary, right side, one quality), then decodes
them in batches of ``--batch`` with :class:`StereoDecoder` on each device (the CPU, and CUDA
when present) at each SI-Net self-ensemble size of ``--ensembles``: median seconds per pair for
each decode stage, PSNR of the left view alone and with side information, and, against the
first device at the same ensemble size, how many output pixels differ and by how much (the
latents are bit-exact by design; the float synthesis may differ in the last bit).
Prints one JSON object as its last line and writes it to ``--out`` when given.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import DATA, environment, write_report
from pipeline.codec.api import DecodeRequest, Role
from pipeline.codec.decode.decoder import StereoDecoder
from pipeline.codec.inputs import read_image
from pipeline.codec.model.encoder import ImageEncoder
from pipeline.evaluation.quality import psnr
from pipeline.training.data.datasets import list_pairs


def encode_pairs(folder: Path, limit: int, quality: int) -> tuple[list, list[DecodeRequest]]:
    """Originals (left views) and their CPU-encoded decode requests."""
    encoder = ImageEncoder()
    originals, requests = [], []
    for left, right in list_pairs([folder])[:limit]:
        originals.append(read_image(left))
        requests.append(
            DecodeRequest(
                encoder.encode(originals[-1], Role.PRIMARY, quality),
                encoder.encode(read_image(right), Role.SIDE, quality),
            )
        )
    return originals, requests


def decode_all(decoder: StereoDecoder, requests: list[DecodeRequest], batch: int) -> tuple:
    """Decoded pairs and, per batch, wall seconds and stage seconds."""
    pairs, timings = [], []
    for start in range(0, len(requests), batch):
        chunk = requests[start : start + batch]
        began = time.perf_counter()
        result = decoder.decode_batch(chunk)
        if decoder.device.type == "cuda":
            torch.cuda.synchronize()
        timings.append((time.perf_counter() - began, result.seconds.as_dict(), len(chunk)))
        pairs += result.pairs
    return pairs, timings


def run_device(
    device: str, ensemble: int, originals: list, requests: list, batch: int, repeats: int
) -> dict:
    """Timings (after one warm-up batch) and quality of one device; keeps the images."""
    decoder = StereoDecoder(device=device, self_ensemble=ensemble)
    decoder.decode_batch(requests[:batch])  # warm-up: kernels, allocator, cudnn autotune
    runs = [decode_all(decoder, requests, batch) for _ in range(repeats)]
    pairs = runs[0][0]
    per_pair = [(wall / n, stages, n) for _, timing in runs for wall, stages, n in timing]
    stages = {k: statistics.median(s[k] / n for _, s, n in per_pair) for k in per_pair[0][1]}
    return {
        "device": str(decoder.device),
        "self_ensemble": decoder.self_ensemble,
        "median_s_per_pair": statistics.median(w for w, _, _ in per_pair),
        "median_stage_s_per_pair": stages,
        "psnr_alone": statistics.mean(
            psnr(o, p.left_alone) for o, p in zip(originals, pairs, strict=True)
        ),
        "psnr_si": statistics.mean(psnr(o, p.left) for o, p in zip(originals, pairs, strict=True)),
        "_images": [p.left for p in pairs],
    }


def agreement(reference: list[np.ndarray], other: list[np.ndarray]) -> dict[str, float]:
    """Share of pixels that differ and the largest difference, ``other`` against ``reference``."""
    diffs = [
        np.abs(a.astype(np.int16) - b.astype(np.int16))
        for a, b in zip(reference, other, strict=True)
    ]
    return {
        "pixels_differing": float(sum((d > 0).sum() for d in diffs) / sum(d.size for d in diffs)),
        "max_abs_diff": int(max(d.max() for d in diffs)),
    }


def add_agreement(results: list[dict]) -> None:
    """Each result's agreement with the first device's at the same ensemble size; drops images."""
    first: dict[int, dict] = {}
    for result in results:
        reference = first.setdefault(result["self_ensemble"], result)
        if reference is not result:
            result["agreement_with_" + reference["device"]] = agreement(
                reference["_images"], result["_images"]
            )
    for result in results:
        del result["_images"]


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run every device and print the result as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", default=str(DATA / "stereo" / "karlsruhe_0023"))
    parser.add_argument("--limit", type=int, default=8)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--quality", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--devices", nargs="*", default=None, help="default: cpu and cuda if any")
    parser.add_argument(
        "--ensembles", nargs="+", type=int, default=[1], help="SI-Net self-ensemble sizes"
    )
    parser.add_argument("--out", default=None, help="JSON file to write")
    args = parser.parse_args(argv)
    devices = args.devices or ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    originals, requests = encode_pairs(Path(args.pairs), args.limit, args.quality)
    results = [
        run_device(d, n, originals, requests, args.batch, args.repeats)
        for n in args.ensembles
        for d in devices
    ]
    add_agreement(results)
    report = {
        "benchmark": "decode_devices",
        "environment": environment(),
        "pairs": f"{Path(args.pairs).name} x {len(requests)}",
        "size": list(originals[0].shape),
        "quality": args.quality,
        "batch": args.batch,
        "devices": results,
    }
    write_report(report, args.out)
    return report


if __name__ == "__main__":
    main()
