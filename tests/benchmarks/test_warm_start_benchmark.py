"""The warm-start benchmark compares both searches on a sequence; pipeline_load's video sender
codes one stream per side of consecutive frames, as a camera would."""

from __future__ import annotations

from pathlib import Path

import cv2
import torch

from benchmarks import pipeline_load, warm_start
from pipeline.codec import read_header
from pipeline.codec.api import Role
from pipeline.scene import render_stereo_frame


def _sequence(root: Path, count: int, width: int = 96, height: int = 64) -> Path:
    """``count`` consecutive rendered stereo frames as a sequence folder."""
    folder = root / "moving"
    for side in ("left", "right"):
        (folder / side).mkdir(parents=True, exist_ok=True)
    for i in range(count):
        views = render_stereo_frame(i, width, height, 4)
        for side, view in zip(("left", "right"), views, strict=True):
            cv2.imwrite(str(folder / side / f"{i:06d}.png"), cv2.cvtColor(view, cv2.COLOR_RGB2BGR))
    return folder


def test_the_warm_start_benchmark_reports_both_searches_on_a_sequence(tmp_path):
    torch.set_num_threads(1)
    _sequence(tmp_path, 4)
    argv = ["--data", str(tmp_path), "--sequences", "moving", "--codecs", "jpeg", "h264"]
    report = warm_start.main([*argv, "--frames", "4", "--refresh", "3"])
    assert [r["codec"] for r in report["results"]] == ["jpeg", "h264"]
    for result in report["results"]:
        assert result["pairs"] == 4 and result["searches"] == {"full": 2, "warm": 2}
        assert result["full_cpu_ms_median"] > 0 and result["warm_cpu_ms_median"] > 0
        assert abs(result["fused_psnr_diff_mean"]) < 0.5


def test_the_load_senders_video_streams_are_a_cameras(tmp_path):
    folder = _sequence(tmp_path, 3)
    coded = pipeline_load.video_streams(folder, "h264", "64x48", fps=2.0, count=7)
    packets = [coded(seq) for seq in range(7)]
    for side, role in enumerate((Role.PRIMARY, Role.SIDE)):
        streams = [pair[side][1] for pair in packets]
        assert [s.packet for s in streams] == list(range(7))
        assert [s.keyframe for s in streams] == [True, False] * 3 + [True]  # a second at 2 fps
        assert len({s.id for s in streams}) == 1
        header = read_header(packets[0][side][0])
        assert (header.role, header.height, header.width) == (role, 48, 64)
