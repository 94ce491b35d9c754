"""Where the side-information gain comes from: Y_syn's quality and the SI-Net's gain per setting.

Encodes ``--limit`` real pairs per folder at each ``--qualities`` (left primary, right side at
the same quality), decodes each once, then builds Y_syn with each SI-Finder setting side by
side: the model's grid (``grid``), the same with ``overlap`` (``overlap``), the grid on the
uncompressed right view (``grid_raw``, the paper's setting, where the side view is not coded), and
a dense one (``sgbm``): the decoded right view warped by OpenCV's semi-global block matching
between X_dec and it, the grid's Y_syn where SGBM finds no disparity (``invalid`` share).
For each: PSNR of Y_syn and of X_hat against the original left view, the gain of X_hat over
X_dec, and the median SI-Finder seconds per pair. Prints one JSON object as its last line and
writes it to ``--out`` when given.

    python -m benchmarks.side_information --pairs ../shared/data/stereo/oakd --limit 3
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import torch

from benchmarks.common import DATA, environment, write_report
from pipeline.codec.api import DecodeRequest, Role
from pipeline.codec.decode.decoder import StereoDecoder
from pipeline.codec.inputs import read_image
from pipeline.codec.model.dsin import DsinCodec
from pipeline.codec.model.encoder import ImageEncoder
from pipeline.codec.model.registry import LoadedModel, load
from pipeline.codec.model.si_finder import SIFinderConfig, find_with_confidence
from pipeline.codec.model.tensors import to_image, to_tensor
from pipeline.evaluation.quality import psnr
from pipeline.training.data.datasets import list_pairs

SETS = ("karlsruhe_0023", "oakd", "middlebury")


Found = tuple[torch.Tensor, torch.Tensor, dict[str, float]]
Finder = Callable[[np.ndarray, np.ndarray], Found]
"""(X_dec, side view) -> (Y_syn, match confidence, extra figures); images as ``read_image``
gives them."""


def settings(model: SIFinderConfig) -> dict[str, tuple[Finder, bool]]:
    """Name -> (Y_syn builder, whether it searches the uncompressed right view)."""
    grid = replace(model, overlap=False)
    return {
        "grid": (blocks(grid), False),
        "overlap": (blocks(replace(model, overlap=True)), False),
        "grid_raw": (blocks(grid), True),
        "sgbm": (dense(grid), False),
    }


def blocks(finder: SIFinderConfig) -> Finder:
    """The SI-Finder with ``finder``'s setting."""

    def build(alone: np.ndarray, side: np.ndarray) -> Found:
        return *find_with_confidence(to_tensor(alone), to_tensor(side), finder), {}

    return build


def dense(fallback: SIFinderConfig) -> Finder:
    """SGBM warp, the SI-Finder's Y_syn with ``fallback`` where SGBM finds no disparity.

    The confidence is the SI-Finder's everywhere (SGBM's own is not comparable).
    """

    def build(alone: np.ndarray, side: np.ndarray) -> Found:
        grid, confidence, _ = blocks(fallback)(alone, side)
        y_syn, invalid = sgbm_side_information(alone, side, to_image(grid, _channels(alone)))
        return to_tensor(y_syn), confidence, {"invalid": invalid}

    return build


def sgbm_side_information(
    alone: np.ndarray, side: np.ndarray, fallback: np.ndarray
) -> tuple[np.ndarray, float]:
    """The side view warped onto X_dec by SGBM disparity; ``fallback`` where there is none.

    Returns the image and the share of pixels that took the fallback. The disparity range
    (192 for karlsruhe's 1344-pixel rows, else 128) covers the evaluation sets' rigs.
    """
    grey = [v if v.ndim == 2 else cv2.cvtColor(v, cv2.COLOR_RGB2GRAY) for v in (alone, side)]
    matcher = cv2.StereoSGBM_create(
        numDisparities=192 if alone.shape[1] > 1000 else 128,
        blockSize=5,
        P1=200,
        P2=800,
        uniquenessRatio=5,
        speckleWindowSize=100,
        speckleRange=2,
        mode=cv2.STEREO_SGBM_MODE_SGBM_3WAY,
    )
    disparity = matcher.compute(*grey).astype(np.float32) / 16.0
    rows, cols = np.indices(disparity.shape, dtype=np.float32)
    map_x = cols - disparity
    warped = cv2.remap(side, map_x, rows, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    invalid = (disparity < 0) | (map_x < 0)
    mask = invalid if warped.ndim == 2 else invalid[..., None]
    return np.where(mask, fallback, warped), float(invalid.mean())


def measure(
    model: DsinCodec,
    left: np.ndarray,
    decoded: tuple[np.ndarray, np.ndarray, int],
    build: Finder,
) -> dict[str, float]:
    """Y_syn and X_hat quality and Y_syn seconds for one decoded pair and one setting.

    ``decoded``: X_dec, the side view searched, and X_dec's zero-based quality level.
    """
    alone, side, level = decoded
    began = time.perf_counter()
    y_syn, confidence, extra = build(alone, side)
    seconds = time.perf_counter() - began
    with torch.no_grad():
        x_hat = model.si_net(
            to_tensor(alone)[None], y_syn[None], torch.tensor([level]), confidence[None]
        )[0]
    channels = _channels(left)
    return {
        "psnr_y_syn": psnr(left, to_image(y_syn, channels)),
        "gain_db": psnr(left, to_image(x_hat, channels)) - psnr(left, alone),
        "finder_s": seconds,
        **extra,
    }


def _channels(image: np.ndarray) -> int:
    return 1 if image.ndim == 2 else 3


def run_pair(
    loaded: LoadedModel,
    encoder: ImageEncoder,
    decoder: StereoDecoder,
    paths: tuple[Path, Path],
    quality: int,
) -> dict[str, object]:
    """All settings on one pair at one quality."""
    left, right = read_image(paths[0]), read_image(paths[1])
    request = DecodeRequest(
        encoder.encode(left, Role.PRIMARY, quality), encoder.encode(right, Role.SIDE, quality)
    )
    pair = decoder.decode_batch([request]).pairs[0]
    row: dict[str, object] = {
        "pair": paths[0].parent.parent.name + "/" + paths[0].name,
        "quality": quality,
        "psnr_x_dec": psnr(left, pair.left_alone),
    }
    for name, (build, raw) in settings(decoder.si_finder).items():
        decoded = (pair.left_alone, right if raw else pair.right, quality - 1)
        row[name] = measure(loaded.model, left, decoded, build)
    return row


def summarise(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Means of every figure per setting, medians of the finder seconds."""
    out = {"x_dec": {"psnr": statistics.fmean(r["psnr_x_dec"] for r in rows)}}
    for name in settings(SIFinderConfig()):
        values = [r[name] for r in rows]
        out[name] = {
            k: statistics.fmean(v[k] for v in values) for k in values[0] if k != "finder_s"
        }
        out[name]["finder_s_median"] = statistics.median(v["finder_s"] for v in values)
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line: run every setting on every pair and quality; report JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--pairs", type=Path, nargs="+", default=[DATA / "stereo" / name for name in SETS]
    )
    parser.add_argument("--limit", type=int, default=3, help="pairs per folder")
    parser.add_argument("--qualities", type=int, nargs="+", default=[2, 4, 6])
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    loaded = load()
    encoder, decoder = ImageEncoder(), StereoDecoder(device="cpu", loaded=loaded)
    rows = [
        run_pair(loaded, encoder, decoder, paths, q)
        for folder in args.pairs
        for paths in list_pairs([folder])[: args.limit]
        for q in args.qualities
    ]
    per_set = {
        folder.name: summarise([r for r in rows if r["pair"].startswith(folder.name + "/")])
        for folder in args.pairs
    }
    result = {
        "benchmark": "side_information",
        "environment": environment(),
        "weights": loaded.weights_hash,
        "qualities": args.qualities,
        "all": summarise(rows),
        "sets": per_set,
        "pairs": rows,
    }
    write_report(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
