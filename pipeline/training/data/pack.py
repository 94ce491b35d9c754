"""Pack training images compactly, for a training run on a machine without ``../shared/data``.

The GPU machine receives only the checkout (64 MiB in all), so the training folders travel as
high-quality JPEG in the same layout the trainer reads: ``OUT/natural/<set>/*.jpg`` and
``OUT/stereo/<set>/{left,right}/*.jpg``. Large photos are shrunk to ``--max-side`` (area
filter: shrinking also removes sensor noise, as codec training sets usually do), and photos
with a short side of at least ``2 * --min-side`` also travel at half size, as extra samples.

    python -m pipeline.training.data.pack --natural D/natural/kodak ... --stereo D/stereo/vase ... \
        --out .gpu/data
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from pipeline.help_text import command_parser
from pipeline.training.data.datasets import list_images, list_pairs, read_8bit


def shrink(image: np.ndarray, max_side: int) -> np.ndarray:
    """``image`` scaled down (area filter) so that its longer side is at most ``max_side``."""
    longest = max(image.shape[:2])
    if longest <= max_side:
        return image
    scale = max_side / longest
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def write_jpeg(path: Path, image: np.ndarray, quality: int) -> int:
    """Write ``image`` (as OpenCV reads it) as JPEG; returns the bytes written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, quality]):
        raise OSError(f"{path}: could not write")
    return path.stat().st_size


def pack_natural(folder: Path, out: Path, max_side: int, min_side: int, quality: int) -> int:
    """Every image of ``folder`` (and its half-size copy where large enough); bytes written."""
    written = 0
    for path in list_images([folder]):
        image = shrink(read_8bit(path), max_side)
        written += write_jpeg(out / folder.name / f"{path.stem}.jpg", image, quality)
        if min(image.shape[:2]) >= 2 * min_side:
            half = shrink(image, max(image.shape[:2]) // 2)
            written += write_jpeg(out / folder.name / f"{path.stem}_half.jpg", half, quality)
    return written


def pack_stereo(folder: Path, out: Path, quality: int, limit: int | None = None) -> int:
    """The pairs of ``folder`` (the first ``limit`` if given), unscaled (disparities must stay
    as captured); bytes written."""
    written = 0
    for left, right in list_pairs([folder])[:limit]:
        for view, path in (("left", left), ("right", right)):
            target = out / folder.name / view / f"{path.stem}.jpg"
            written += write_jpeg(target, read_8bit(path), quality)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Pack the given folders and print the size of each."""
    parser = command_parser("python -m pipeline.training.data.pack", __doc__)
    parser.add_argument("--natural", nargs="*", default=[], help="single-image folders")
    parser.add_argument("--stereo", nargs="*", default=[], help="stereo folders (left/, right/)")
    parser.add_argument("--out", required=True, help="folder to write natural/ and stereo/ into")
    parser.add_argument("--quality", type=int, default=95, help="JPEG quality")
    parser.add_argument(
        "--max-side", type=int, default=1024, help="longer side of a photo after shrinking"
    )
    parser.add_argument("--min-side", type=int, default=256, help="the training crop")
    parser.add_argument("--limit", type=int, default=None, help="pairs per stereo folder")
    args = parser.parse_args(argv)
    out = Path(args.out)
    for folder in map(Path, args.natural):
        size = pack_natural(folder, out / "natural", args.max_side, args.min_side, args.quality)
        print(f"natural/{folder.name}: {size / 2**20:.1f} MiB")
    for folder in map(Path, args.stereo):
        size = pack_stereo(folder, out / "stereo", args.quality, args.limit)
        print(f"stereo/{folder.name}: {size / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
