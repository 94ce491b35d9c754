"""What ``stereo-pipeline eval`` prints: the BD-rates on stdout, what was skipped on stderr."""

from __future__ import annotations

import sys
from collections.abc import Callable

from pipeline.evaluation.runner import EvaluationResult


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


def conclude(
    result: EvaluationResult, report: Callable[[], dict], write: Callable[[dict], None]
) -> int:
    """The end of an evaluation: 1 when it has no row; else ``write`` the ``report``, print its
    BD-rates and what was skipped, 0."""
    if not result.rows:
        print("stereo-pipeline eval: nothing could be evaluated", file=sys.stderr)
        print_failures(result.failures)
        return 1
    made = report()
    write(made)
    print_summary(made)
    print_failures(result.failures)
    return 0
