"""``stereo-pipeline demo`` end to end, small: three processes, a report, sample images."""

from __future__ import annotations

import json

import pytest

from pipeline.demo import main

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.mark.parametrize("codec", ["dsin", "avif"])
def test_demo_runs_and_reports(tmp_path, capsys, codec):
    report_path = tmp_path / "report.json"
    args = ["--frames", "12", "--fps", "6", "--width", "64", "--height", "48",
            "--out", str(tmp_path / "demo"), "--report", str(report_path), "--codec", codec,
            "--psnr-frames", "4", "--decode-threads", "1", "--timeout", "200"]  # fmt: skip
    assert main(args) == 0, (tmp_path / "demo" / "logs" / "decoder.log").read_text()[-2000:]
    report = json.loads(report_path.read_text())
    assert report["config"]["codec"] == codec
    assert report["frames_sent"] == {"left": 12, "right": 12}
    assert report["frames_decoded"] == {"left": 12, "right": 12}
    assert report["frames_paired"] == 12
    missed = report["capture_slots_missed"]
    assert set(missed) == {"left", "right"} and all(n <= 12 * 5 for n in missed.values()), missed
    dropped = report["frames_dropped"]
    assert not any(dropped["decoder"].values()) and not any(dropped["malformed_messages"].values())
    assert not any(n for side in dropped["camera"].values() for n in side.values()), dropped
    assert report["exit_codes"] == {"camera-left": 0, "camera-right": 0, "decoder": 0}
    assert 0.05 < report["left_bpp"] < 8 and 0.05 < report["right_bpp"] < 8
    assert report["psnr_frames"] == 4
    # The decoded views are the scene, re-rendered here: a broken decoder lands far below.
    for key in ("psnr_left_alone", "psnr_left_si", "psnr_right"):
        assert 22 < report[key] < 60, (key, report[key])
    assert abs(report["psnr_left_si"] - report["psnr_left_alone"]) < 3
    for stage in ("network", "queue", "entropy_decode", "si_net", "end_to_end"):
        latency = report["latency"][stage]
        assert latency["p50_ms"] <= latency["p95_ms"] <= latency["p99_ms"]
    names = sorted(p.name for p in (tmp_path / "demo" / "samples").iterdir())
    assert {n.split("_", 1)[1] for n in names} == {
        "left_original.png", "left_alone.png", "left_si.png", "right.png"
    }  # fmt: skip
    assert "frames decoded" in capsys.readouterr().out
