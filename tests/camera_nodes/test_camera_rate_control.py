"""Send queue drop policy and the bitrate controller."""

from __future__ import annotations

import itertools

import pytest

from camera_nodes.rate_control import QualityController
from camera_nodes.send_queue import DropOldestQueue


def test_queue_drops_oldest_when_full() -> None:
    q: DropOldestQueue[int] = DropOldestQueue(2)
    assert q.put(1) is None and q.put(2) is None
    assert q.put(3) == 1
    assert len(q) == 2
    assert q.get(0.01) == 2 and q.get(0.01) == 3
    assert q.get(0.01) is None


def size_at(quality: int) -> int:
    return 2000 * quality  # bytes; at 10 fps, quality q costs 160*q kbit/s


def run(ctrl: QualityController, frames: int) -> list[int]:
    seen = []
    for i in range(frames):
        seen.append(ctrl.quality)
        ctrl.observe(size_at(ctrl.quality), i / 10)
    return seen


def test_lowers_quality_when_over_target() -> None:
    ctrl = QualityController(range(1, 7), target_kbps=400, fps=10.0, initial=6)
    seen = run(ctrl, 30)
    assert seen[0] == 6
    assert seen[-1] == 2, seen  # 320 kbit/s: the highest level under 400 * 1.1
    assert all(b <= a for a, b in itertools.pairwise(seen)), "no overshoot back up"
    assert ctrl.estimate_kbps() == pytest.approx(320)


def test_raises_quality_when_well_under_target() -> None:
    ctrl = QualityController(range(1, 7), target_kbps=900, fps=10.0, initial=1)
    assert run(ctrl, 30)[-1] == 5  # 800 kbit/s; 6 would be 960 > 900 * 1.1


def test_measures_frame_rate_when_unpaced() -> None:
    ctrl = QualityController(range(1, 7), target_kbps=400, fps=0.0, initial=3)
    for i in range(4):
        ctrl.observe(5000, i * 0.05)  # 20 fps * 40 kbit = 800 kbit/s
    assert ctrl.quality < 3


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        QualityController([], 100, 10)
    with pytest.raises(ValueError):
        QualityController([1, 2], 0, 10)
