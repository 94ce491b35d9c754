"""Code training views with the standard codecs once, find their side information, store crops.

For every source (a real stereo pair, or a synthetic pair rendered from a natural image) and
every codec, ``--per-source`` qualities are drawn uniformly from the codec's training range;
both views are coded at that quality and decoded (the evaluation's setting: right view, same
codec and quality), the SI-Finder runs on the full decoded views exactly as the decoder runs
it, and ``--crops`` random windows of X, X_dec, Y_syn and the match confidence are stored:

    python -m pipeline.training.standard.prepare --out runs/si-std/data \\
        --pairs ../shared/data/stereo/{kitti_raw_0926_0001,eth3d_two_view,...} \\
        --images ../shared/data/natural/{kodak,...}

One ``.npz`` per source (``stack``: X, X_dec, Y_syn and the confidence as uint8 of (c + 1) / 2,
(N, 10, h, w); ``codec``: each crop's index in ``codecs``, the codec names; ``quality``); an
existing file is kept, so an interrupted run resumes. Every ``--holdout``-th pair of each folder
is left out (for calibration).
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pipeline.codec.inputs import read_image
from pipeline.codec.model.fusion import find
from pipeline.codec.model.si_finder import SIFinderConfig
from pipeline.codec.model.si_standard import STANDARD_SI_FINDER
from pipeline.codec.model.tensors import to_tensor
from pipeline.codec.standard import CODEC_NAMES, STANDARD_CODECS
from pipeline.help_text import command_parser
from pipeline.training.data.datasets import list_images, list_pairs
from pipeline.training.data.pack import shrink
from pipeline.training.data.rendered_stereo import make_stereo_pair

#: Training quality range of each codec: the evaluation grid's span (docs/evaluation.md).
QUALITY_RANGE = {"jpeg": (5, 95), "webp": (1, 95), "avif": (10, 90)}
#: Natural images are shrunk to this longer side; real pairs keep their size (their
#: disparities and noise are what the decoder will see).
MAX_SIDE = 800


@dataclass(frozen=True)
class Source:
    """One training source: a real pair (``right`` set) or a natural image to render from."""

    name: str
    left: Path
    right: Path | None = None


def sources(pairs: Sequence[Path], images: Sequence[Path], holdout: int) -> list[Source]:
    """Every training pair (every ``holdout``-th of a folder left out) and natural image."""
    found = []
    for folder in pairs:
        for index, (left, right) in enumerate(list_pairs([folder])):
            if holdout and index % holdout == holdout - 1:
                continue
            found.append(Source(f"{folder.name}_{left.stem}", left, right))
    found += [Source(f"{p.parent.name}_{p.stem}", p) for p in list_images(images)]
    return found


def views(source: Source, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The source's (left, right) uint8 views; a synthetic pair from a shrunk natural image."""
    if source.right is not None:
        left, right = read_image(source.left), read_image(source.right)
        return left, right if right.ndim == left.ndim else right.mean(axis=2).astype(np.uint8)
    image = shrink(read_image(source.left), MAX_SIDE)
    pair = make_stereo_pair(image, rng, max_disparity=int(rng.integers(16, 64)))
    return pair.left, pair.right


def code(codec: str, image: np.ndarray, quality: int) -> np.ndarray:
    """``image`` coded and decoded by ``codec`` at ``quality`` (same channels)."""
    spec = STANDARD_CODECS[codec]
    channels = 1 if image.ndim == 2 else 3
    return spec.decode(spec.encode(image, quality), channels, image.shape[:2])


def samples(
    left: np.ndarray,
    right: np.ndarray,
    codec: str,
    quality: int,
    crops: int,
    crop: int,
    rng: np.random.Generator,
    finder: SIFinderConfig = STANDARD_SI_FINDER,
) -> dict[str, np.ndarray]:
    """``crops`` windows of X, X_dec, Y_syn and confidence for one codec and quality."""
    left_dec, right_dec = code(codec, left, quality), code(codec, right, quality)
    return {"stack": crops_of(left, left_dec, right_dec, crops, crop, rng, finder)}


def crops_of(
    left: np.ndarray,
    left_dec: np.ndarray,
    right_dec: np.ndarray,
    crops: int,
    crop: int,
    rng: np.random.Generator,
    finder: SIFinderConfig = STANDARD_SI_FINDER,
) -> np.ndarray:
    """``crops`` random windows (N, 10, h, w) uint8 of X, X_dec, Y_syn and (confidence + 1) / 2,
    Y_syn found on the full decoded views exactly as the decoder finds it."""
    x_dec = to_tensor(left_dec)
    y_syn, confidence = find(x_dec, to_tensor(right_dec), finder)
    stacked = torch.cat([to_tensor(left), x_dec, y_syn.clamp(0, 1), (confidence + 1) / 2])
    stacked = torch.round(stacked * 255).to(torch.uint8).numpy()
    height, width = stacked.shape[-2:]
    size = (min(crop, height), min(crop, width))
    windows = []
    for _ in range(crops):
        top = int(rng.integers(0, height - size[0] + 1))
        start = int(rng.integers(0, width - size[1] + 1))
        windows.append(stacked[:, top : top + size[0], start : start + size[1]])
    return np.stack(windows)


def seeded(name: str) -> np.random.Generator:
    """A generator seeded by ``name`` alone, so a source draws the same whatever the order."""
    return np.random.default_rng(
        int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")
    )


def save_crops(target: Path, stacks: list[np.ndarray], **labels: Sequence) -> None:
    """Write ``stacks`` (cut to their smallest window) and ``labels`` (``codec``: each crop's
    index in ``codecs``, the codec names; ``quality``; any other per-crop array) to ``target``
    atomically (a ``.part.npz`` renamed), as :class:`.train.CropBank` reads them."""
    shape = min(s.shape[-2] for s in stacks), min(s.shape[-1] for s in stacks)
    stack = np.concatenate([s[..., : shape[0], : shape[1]] for s in stacks])
    partial = target.with_suffix(".part.npz")
    np.savez(partial, stack=stack, **{k: np.array(v) for k, v in labels.items()})
    partial.rename(target)


def run_all(task, todo: list, workers: int) -> None:
    """``task`` on every item of ``todo`` in ``workers`` processes, a progress line each."""
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        for done, line in enumerate(pool.imap_unordered(task, todo), 1):
            print(f"[{done}/{len(todo)}] {line}", flush=True)


def prepare_source(task: tuple[Source, Path, int, int, int]) -> str:
    """All codecs and qualities of one source into ``OUT/<name>.npz`` (kept if it exists)."""
    source, out, per_source, crops, crop = task
    target = out / f"{source.name}.npz"
    if target.exists():
        return f"{source.name}: kept"
    torch.set_num_threads(1)
    rng = seeded(source.name)
    left, right = views(source, rng)
    stacks, codecs, qualities = [], [], []
    for index, codec in enumerate(CODEC_NAMES):
        low, high = QUALITY_RANGE[codec]
        for quality in rng.integers(low, high + 1, per_source):
            found = samples(left, right, codec, int(quality), crops, crop, rng)
            stacks.append(found["stack"])
            codecs += [index] * crops
            qualities += [int(quality)] * crops
    save_crops(target, stacks, codec=codecs, codecs=CODEC_NAMES, quality=qualities)
    return f"{source.name}: {len(codecs)} crops"


def add_crop_options(parser: argparse.ArgumentParser, crops: str, holdout: str) -> None:
    """The options every crop preparer has: --out, --crops (``crops``: its help), --crop,
    --holdout (``holdout``: its help) and --workers."""
    parser.add_argument("--out", type=Path, required=True, help="folder for the prepared crops")
    parser.add_argument("--crops", type=int, default=2, help=crops)
    parser.add_argument("--crop", type=int, default=256, help="side of a stored crop, pixels")
    parser.add_argument("--holdout", type=int, default=5, help=holdout)
    parser.add_argument("--workers", type=int, default=2, help="coding processes")


def main(argv: list[str] | None = None) -> int:
    """Command line (module docstring)."""
    parser = command_parser("python -m pipeline.training.standard.prepare", __doc__)
    parser.add_argument("--pairs", nargs="*", type=Path, default=[], help="stereo folders")
    parser.add_argument("--images", nargs="*", type=Path, default=[], help="natural images")
    parser.add_argument("--per-source", type=int, default=2, help="qualities per codec")
    add_crop_options(parser, "crops per quality", "leave out every N-th pair")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    todo = [
        (s, args.out, args.per_source, args.crops, args.crop)
        for s in sources(args.pairs, args.images, args.holdout)
    ]
    run_all(prepare_source, todo, args.workers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
