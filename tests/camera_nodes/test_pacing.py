"""The capture schedule on a simulated clock: on time, behind, after a stall, unpaced."""

from __future__ import annotations

import itertools

import pytest

from camera_nodes import pacing
from camera_nodes.pacing import Pacer


class Clock:
    """A monotonic clock that moves only when the test (or a wait) moves it."""

    def __init__(self) -> None:
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:  # threading.Event.wait, never set
        self.now += seconds
        return False


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(pacing.time, "monotonic", clock.monotonic)
    return clock


def run(clock: Clock, pacer: Pacer, work_s: list[float]) -> tuple[list[float], int]:
    """Capture once per entry of ``work_s`` (time spent after the capture); capture times and
    the slots missed in all."""
    times, missed = [], 0
    for work in work_s:
        missed += pacer.wait(clock)
        times.append(clock.now)
        clock.now += work
    return times, missed


def test_a_node_faster_than_its_rate_captures_every_period_and_misses_none(clock):
    times, missed = run(clock, Pacer(10.0), [0.03] * 50)
    assert missed == 0
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(g == pytest.approx(0.1) for g in gaps)


def test_a_slow_node_misses_the_capture_times_it_cannot_keep(clock):
    times, missed = run(clock, Pacer(10.0), [0.35] * 40)
    slots = (times[-1] - times[0]) / 0.1 + 1  # capture times the rate asked for
    assert missed > 0
    assert abs(len(times) + missed - slots) <= 2


def test_a_stall_is_counted_and_not_made_up_in_a_burst(clock):
    work = [0.01] * 10 + [1.0] + [0.01] * 20
    times, missed = run(clock, Pacer(10.0), work)
    slots = (times[-1] - times[0]) / 0.1 + 1
    assert missed == 8  # 9 capture times passed in the stall: 1 taken late, 8 missed
    assert len(times) + missed == pytest.approx(slots)
    after = [t for t in times if times[11] < t < times[11] + 0.1]
    assert len(after) == 1  # the late capture, then one at once, then the rate again


def test_unpaced_nodes_never_wait_or_miss(clock):
    times, missed = run(clock, Pacer(0.0), [0.05] * 10)
    assert missed == 0
    assert times[-1] - times[0] == pytest.approx(0.45)
