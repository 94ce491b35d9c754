"""Soak: the demo's three processes streaming for a long time; resident memory of each, sampled.

Starts the decoder and both camera nodes exactly as ``stereo-pipeline demo`` does (same configs,
``--fps``, ``--codec``), lets the cameras run for ``--seconds``, reads every process's resident
set size (``VmRSS``, and its peak ``VmHWM``) from ``/proc`` every ``--every`` seconds, then stops
them with SIGTERM. The JSON has the series and, per process, the RSS at the end of the first
minute, the last RSS and the peak: memory that keeps growing shows as last far above the first.

    python -m benchmarks.soak --seconds 600 --out out/bench/soak.json
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from benchmarks.common import environment, write_report
from pipeline.codec.standard import CAMERA_CODECS, DEFAULT_CAMERA_CODEC
from stereo_app.demo.cli import Run
from stereo_app.demo.processes import camera_counts, scrape, stop, total
from stereo_app.demo.setup import DemoPlan


def _status_kb(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the soak and print (and write) its report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--every", type=float, default=10.0)
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("--codec", choices=CAMERA_CODECS, default=DEFAULT_CAMERA_CODEC)
    parser.add_argument("--out-dir", type=Path, default=Path("out/soak"))
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    plan = DemoPlan(0, args.fps, 320, 240, 0, None, args.out_dir, 2, args.codec)  # 0: forever
    run = Run(plan, timeout=args.seconds + 600, stall=args.seconds)
    run.start()
    started, series = time.monotonic(), []
    try:
        while time.monotonic() - started < args.seconds:
            time.sleep(args.every)
            sample = {"t": round(time.monotonic() - started, 1)}
            for name, child in run.children.items():
                sample[name] = _status_kb(child.proc.pid, "VmRSS")
            series.append(sample)
        peaks = {n: _status_kb(c.proc.pid, "VmHWM") for n, c in run.children.items()}
        decoded = total(scrape(run.ports.decoder_http), "stereo_decoder_frames_decoded_total")
    finally:
        codes = {name: stop(child, 120.0) for name, child in run.children.items()}
    first = next((s for s in series if s["t"] >= 60), series[0])
    report = {
        "benchmark": "soak",
        "seconds": args.seconds,
        "fps": args.fps,
        "codec": args.codec,
        "frames_decoded": decoded,
        "camera_counts": {n: camera_counts(c) for n, c in run.children.items() if "camera" in n},
        "exit_codes": codes,
        "rss_mb": {
            name: {
                "after_1_min": round(first[name] / 1024, 1),
                "last": round(series[-1][name] / 1024, 1),
                "peak": round((peaks[name] or 0) / 1024, 1),
            }
            for name in run.children
        },
        "series_kb": series,
        "environment": environment(),
    }
    write_report(report, args.out, indent=None)
    return report


if __name__ == "__main__":
    main()
