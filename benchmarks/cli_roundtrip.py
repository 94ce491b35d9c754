"""CLI round trip on the real stereo sets: left-view bpp and PSNR with and without SI.

For each pair of each set under ``../shared/data/stereo`` (``--limit`` pairs per set), runs
the real command line: ``encode`` left (primary) and right (side), ``decode`` the left alone
and with ``--side-info`` the right bitstream, and measures bpp from the file sizes and PSNR
against the original on the image's own channels. Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.common import DATA, environment, write_report
from pipeline.codec.inputs import read_image
from pipeline.evaluation.quality import psnr
from pipeline.image_folders import stereo_pairs
from stereo_app.cli import main as cli


def round_trip(left: Path, right: Path, work: Path, quality: int | None) -> dict[str, float]:
    """Encode and decode one pair through the CLI; bpp and PSNR of the left view."""
    q = [] if quality is None else ["--quality", str(quality)]
    for name, path, role in (("l", left, "primary"), ("r", right, "side")):
        if cli(["encode", str(path), "-o", str(work / f"{name}.sic"), "--role", role, *q]) != 0:
            raise RuntimeError(f"encode failed: {path}")
    original = read_image(left)
    pixels = original.shape[0] * original.shape[1]
    row = {"bpp_left": 8 * (work / "l.sic").stat().st_size / pixels}
    right_pixels = np.prod(read_image(right).shape[:2])
    row["bpp_right"] = 8 * (work / "r.sic").stat().st_size / right_pixels
    for key, extra in (("psnr_alone", []), ("psnr_si", ["--side-info", str(work / "r.sic")])):
        if cli(["decode", str(work / "l.sic"), "-o", str(work / "out.png"), *extra]) != 0:
            raise RuntimeError(f"decode failed: {left}")
        row[key] = psnr(original, read_image(work / "out.png"))
    return row


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run every set and print the per-set means as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", default=str(DATA / "stereo"))
    parser.add_argument("--limit", type=int, default=5, help="pairs per set (0: all)")
    parser.add_argument("--quality", type=int, default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    sets: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for folder in sorted(p for p in Path(args.root).iterdir() if (p / "left").is_dir()):
            pairs = stereo_pairs(folder, suffixes=(".png",))
            pairs = pairs[: args.limit] if args.limit else pairs
            rows = [round_trip(left, right, Path(tmp), args.quality) for left, right in pairs]
            sets[folder.name] = {"pairs": len(rows)} | {
                k: statistics.mean(r[k] for r in rows) for k in rows[0]
            }
            print(folder.name, json.dumps(sets[folder.name]), flush=True)
    result = {"benchmark": "cli_roundtrip", "sets": sets, "environment": environment()}
    write_report(result, args.out)
    return result


if __name__ == "__main__":
    main()
