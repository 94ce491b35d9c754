"""What ``stereo-pipeline eval`` prints: the BD-rates on stdout, what was skipped on stderr."""

from __future__ import annotations

import sys


def print_summary(report: dict) -> None:
    """The BD-rates of every scope (all, then each set), one line per anchor, on stdout."""
    for scope, tables in [("all", report), *report["sets"].items()]:
        for anchor, tests in tables["bd_rate"].items():
            text = ", ".join(
                f"{name} {value:+.1f}%" if value is not None else f"{name} n/a"
                for name, value in tests.items()
            )
            print(f"BD-rate ({scope}) vs {anchor}: {text}")


def print_failures(failures: list[dict]) -> None:
    """Each skipped frame or setting and why, on stderr."""
    for failure in failures:
        where = f"{failure['set']}/{failure['pair']} {failure['codec']} q={failure['quality']}"
        print(f"skipped {where}: {failure['error']}", file=sys.stderr)
