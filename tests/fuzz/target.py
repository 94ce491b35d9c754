"""What a fuzz target is: its inputs, its contract, and the limits it runs under."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

MIB = 1 << 20


@dataclass(frozen=True)
class Target:
    """One parser under fuzzing.

    ``inputs()`` builds the hypothesis strategy of its inputs; ``check(example)`` feeds one
    example to the parser and returns when the parser kept its contract (it parsed, and what it
    returned is consistent, or it raised the parser's documented error type); anything else
    that escapes ``check`` is a bug. ``setup()`` builds what the target needs (models, corpus)
    before the memory cap is set. ``memory_mib``: the address space the long run lets the
    parser add to what setup left mapped; ``timeout_s``: the longest one input may take.
    """

    name: str
    inputs: Callable[[], st.SearchStrategy[Any]]
    check: Callable[[Any], None]
    setup: Callable[[], None]
    memory_mib: int
    timeout_s: float


def bounded(max_examples: int) -> settings:
    """Settings of the suite's bounded, reproducible runs: the same examples every run."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
