"""The decode-throughput benchmark runs the daemon's own decode path and reports every setting."""

from __future__ import annotations

from pathlib import Path

import cv2
import torch

from benchmarks import decode_throughput
from tests.conftest import natural_image


def _pairs(root: Path, count: int) -> None:
    for i in range(count):
        scene = natural_image(48, 72, 3, seed=i)
        for side, view in (("left", scene[:, 8:]), ("right", scene[:, :-8])):
            (root / "oakd" / side).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / "oakd" / side / f"{i:06d}.png"), view)


def test_every_pair_goes_through_the_workers_at_every_setting(tmp_path):
    torch.set_num_threads(1)
    _pairs(tmp_path, 3)
    report = decode_throughput.main(
        [
            "--device",
            "cpu",
            "--data",
            str(tmp_path),
            "--sizes",
            "640x480",
            "--pairs",
            "5",
            "--batches",
            "1",
            "2",
            "--ensembles",
            "1",
            "--codec",
            "avif",
            "--sink",
            "png",
        ]
    )
    assert [r["batch"] for r in report["results"]] == [1, 2]
    for result in report["results"]:
        assert result["pairs"] == 5 and result["pairs_per_s"] > 0
        assert result["stage_ms_per_pair"]["si_finder"] > 0
        assert result["batch_ms_p50"] <= result["batch_ms_p99"]
    assert report["device"] == "cpu" and report["codec"] == "avif"
