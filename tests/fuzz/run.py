"""Run fuzz targets long, each in a child process under a memory cap.

    python -m tests.fuzz.run --target wire --target config --inputs 100000
    python -m tests.fuzz.run --target decode --inputs 1000000 --seconds 1500

Prints, per target: inputs run, contract violations found (each kind with its traceback and
shortest input), peak resident memory, the time taken; exits 1 if any target found one, hung,
or died (an allocation past the cap that a library does not turn into an exception kills the
child). ``docs/fuzzing.md`` has the figures of the last long run.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence

from tests.fuzz.target import Target

TARGETS = ("wire", "request", "container", "decode", "config", "video", "receive")
RESULT = "RESULT "


def load_target(name: str) -> Target:
    """A target's description, importing only its own module (``wire`` needs no torch)."""
    return importlib.import_module(f"tests.fuzz.{name}").TARGET


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz.run", description=__doc__)
    parser.add_argument("--target", action="append", choices=TARGETS, help="repeatable; all")
    parser.add_argument("--inputs", type=int, default=10_000, help="inputs per target")
    parser.add_argument("--seconds", type=float, default=float("inf"), help="time per target")
    parser.add_argument("--seed", type=int, default=0, help="first hypothesis seed")
    parser.add_argument(
        "--memory-mib",
        type=int,
        help="address space a target may add after setup (default: the target's own, 1024 or 3072)",
    )
    parser.add_argument("--report", help="also write the results as JSON to this file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Fuzz each chosen target in a child process; print and return the verdict."""
    args = build_parser().parse_args(argv)
    if args.child:
        return _child(args)
    results = [_spawn(name, args) for name in args.target or TARGETS]
    print("\ntarget     inputs  failures  peak RSS MiB  seconds")
    for r in results:
        print(
            f"{r['target']:<9} {r['inputs']:>7} {r['failures']:>9} "
            f"{r['peak_rss_mib']:>13.0f} {r['seconds']:>8.0f}"
        )
    if args.report:
        with open(args.report, "w") as out:
            json.dump(results, out, indent=1)
    return 1 if any(r["failures"] or r.get("died") for r in results) else 0


def _spawn(name: str, args: argparse.Namespace) -> dict:
    command = [
        sys.executable,
        "-m",
        "tests.fuzz.run",
        "--child",
        name,
        "--inputs",
        str(args.inputs),
        "--seconds",
        str(args.seconds),
        "--seed",
        str(args.seed),
    ]
    if args.memory_mib:
        command += ["--memory-mib", str(args.memory_mib)]
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    result = None
    for line in process.stdout:
        if line.startswith(RESULT):
            result = json.loads(line[len(RESULT) :])
        else:
            print(line, end="", flush=True)
    code = process.wait()
    if result is None or code not in (0, 1):
        result = {
            "target": name,
            "inputs": 0,
            "failures": 1,
            "peak_rss_mib": 0.0,
            "seconds": time.monotonic() - started,
            "died": f"exit status {code}",
        }
        print(f"{name}: the child process died (exit status {code})")
    return result


def _child(args: argparse.Namespace) -> int:
    from tests.fuzz.loop import Progress, cap_memory, fuzz, peak_rss_mib

    target = load_target(args.child)
    started = time.monotonic()
    target.setup()
    setup_rss = peak_rss_mib()
    headroom = args.memory_mib or target.memory_mib
    cap = cap_memory(headroom)
    progress = Progress(args.inputs, args.seconds)
    fuzz(target, progress, args.seed)
    for key, failure in progress.failures.items():
        print(f"\n=== {target.name}: {key} ({failure.count} inputs)\n{failure.traceback}")
        print(f"shortest input: {failure.example}")
    result = {
        "target": target.name,
        "inputs": progress.done_inputs,
        "failures": len(progress.failures),
        "failing_inputs": sum(f.count for f in progress.failures.values()),
        "kinds": {key: f.count for key, f in progress.failures.items()},
        "hung": progress.hung,
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "rss_after_setup_mib": round(setup_rss, 1),
        "address_space_cap_mib": cap >> 20,
        "headroom_mib": headroom,
        "seconds": round(time.monotonic() - started, 1),
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()}-core {platform.machine()}",
    }
    print(RESULT + json.dumps(result), flush=True)
    return 1 if progress.failures else 0


if __name__ == "__main__":
    sys.exit(main())
