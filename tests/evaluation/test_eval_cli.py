"""``stereo-pipeline eval`` end to end on tiny synthetic stereo sets written to tmp_path."""

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from pipeline.codec.model import registry
from pipeline.evaluation.cli import main
from pipeline.evaluation.plot import COLOURS

CLASSIC = ["jpeg", "webp", "jpeg2000", "avif"]


def _scene(height, width, seed):
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    smooth = 128 + 70 * np.sin(xs / rng.uniform(4, 9)) * np.cos(ys / rng.uniform(5, 12))
    return np.clip(smooth + rng.normal(0, 6, smooth.shape), 0, 255).astype(np.uint8)


def _write_set(root: Path, name: str, colour: bool, pairs: int = 2) -> Path:
    for index in range(pairs):
        grey = _scene(48, 72, index)
        image = np.dstack([grey, grey[::-1], 255 - grey]) if colour else grey
        for side, view in (("left", image[:, 4:]), ("right", image[:, :-4])):
            (root / name / side).mkdir(parents=True, exist_ok=True)
            assert cv2.imwrite(str(root / name / side / f"{index:06d}.png"), view)
    return root / name


@pytest.fixture
def two_sets(tmp_path):
    return [_write_set(tmp_path, "greyset", False), _write_set(tmp_path, "colourset", True)]


def test_classic_codecs_write_rd_json_and_plots(two_sets, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["--pairs", *map(str, two_sets), "--out", str(out), "--codecs", *CLASSIC]
    grids = ["jpeg=10,50,90", "webp=10,80", "jpeg2000=200,1000", "avif=30,80"]
    assert main([*argv, *(f"--grid={grid}" for grid in grids), "--no-progress"]) == 0
    report = json.loads((out / "rd.json").read_text())
    assert set(report["codecs"]) == set(CLASSIC)
    assert [p["quality"] for p in report["codecs"]["jpeg"]] == [10, 50, 90]
    for points in report["codecs"].values():
        assert [p["bpp"] for p in points] == sorted(p["bpp"] for p in points)
        assert all(p["pairs"] == 4 and 0 < p["ms_ssim"] <= 1 for p in points)
    assert len(report["pairs"]) == 4 * (3 + 2 + 2 + 2)
    for row in report["pairs"]:
        assert row["bpp"] == pytest.approx(row["bytes"] * 8 / (48 * 68))
        assert row["channels"] == (1 if row["set"] == "greyset" else 3)
    assert set(report["bd_rate"]["jpeg"]) == {"webp", "jpeg2000", "avif"}
    assert set(report["sets"]) == {"greyset", "colourset"}
    assert report["sets"]["greyset"]["codecs"]["jpeg"][0]["pairs"] == 2
    assert report["versions"]["opencv"] and report["date"]
    assert "BD-rate (all) vs jpeg" in capsys.readouterr().out
    for name in ("rd.png", "rd_greyset.png", "rd_colourset.png"):
        plot = cv2.cvtColor(cv2.imread(str(out / name)), cv2.COLOR_BGR2RGB)
        assert plot is not None and plot.shape[1] > plot.shape[0]
        for codec in CLASSIC:
            rgb = tuple(int(COLOURS[codec][i : i + 2], 16) for i in (1, 3, 5))
            assert (plot == rgb).all(axis=2).any(), f"{codec} missing in {name}"


def test_limit_and_bad_folders(tmp_path, capsys):
    folder = _write_set(tmp_path, "few", False, pairs=3)
    out = tmp_path / "out"
    argv = ["--pairs", str(folder), "--out", str(out), "--codecs", "jpeg", "--no-progress"]
    assert main([*argv, "--limit", "1", "--grid", "jpeg=20,80"]) == 0
    assert {row["pair"] for row in json.loads((out / "rd.json").read_text())["pairs"]} == {"000000"}
    assert main(["--pairs", str(tmp_path / "nothing"), "--out", str(out)]) == 2
    assert "no left/ folder" in capsys.readouterr().err
    assert main([*argv, "--grid", "gif=1,2"]) == 2
    with pytest.raises(SystemExit) as info:
        main([*argv, "--self-ensemble", "3"])
    assert info.value.code == 2 and "--self-ensemble" in capsys.readouterr().err


def test_an_unreadable_pair_is_skipped_and_reported(tmp_path, capsys):
    folder = _write_set(tmp_path, "broken", False, pairs=2)
    (folder / "left" / "000001.png").write_bytes(b"not a png")
    out = tmp_path / "out"
    argv = ["--pairs", str(folder), "--out", str(out), "--codecs", "jpeg", "--grid", "jpeg=20,80"]
    assert main([*argv, "--no-progress"]) == 0
    report = json.loads((out / "rd.json").read_text())
    assert {row["pair"] for row in report["pairs"]} == {"000000"}
    assert [(f["pair"], f["codec"]) for f in report["failures"]] == [("000001", "*")]
    assert "skipped broken/000001" in capsys.readouterr().err


def test_ours_with_and_without_side_information(two_sets, tmp_path):
    torch.set_num_threads(1)
    out = tmp_path / "out"
    argv = ["--pairs", str(two_sets[1]), "--out", str(out), "--limit", "1", "--no-progress"]
    assert main([*argv, "--codecs", "ours", "jpeg", "--qualities", "1", "3"]) == 0
    report = json.loads((out / "rd.json").read_text())
    alone, with_side = report["codecs"]["ours"], report["codecs"]["ours_si"]
    assert [p["quality"] for p in alone] == [p["quality"] for p in with_side] == [1, 3]
    for a, s in zip(alone, with_side, strict=True):
        assert a["bpp"] == s["bpp"] > 0 and s["side_bpp"] > 0
        # Quality thresholds belong to the codec's tests; the weights may still be training.
        assert 0 < a["psnr"] < 100 and 0 < s["psnr"] < 100 and 0 < s["ms_ssim"] <= 1
    assert "ours_si" in report["bd_rate"]["ours"] and "ours" in report["bd_rate"]["jpeg"]
    assert report["model_id"] and report["weights_hash"] and report["device"] == "cpu"
    assert report["settings"]["self_ensemble"] == 8  # the GPU host's decoder, by default


def test_standard_codecs_with_side_information(two_sets, tmp_path):
    torch.set_num_threads(1)
    out = tmp_path / "out"
    argv = ["--pairs", str(two_sets[1]), "--out", str(out), "--limit", "1", "--no-progress",
            "--codecs", "jpeg_si", "avif_si", "--grid", "jpeg=20,50,80", "--grid", "avif=20,50,80",
            "--self-ensemble", "1"]  # fmt: skip
    assert main(argv) == 0
    report = json.loads((out / "rd.json").read_text())
    assert set(report["codecs"]) == {"jpeg", "jpeg_si", "avif", "avif_si"}
    rows = {(r["codec"], r["quality"]): r for r in report["pairs"]}
    for codec in ("jpeg", "avif"):
        for quality in (20, 50, 80):
            plain, with_si = rows[(codec, quality)], rows[(f"{codec}_si", quality)]
            # the container's header is counted on top of the codec's own file
            assert 20 < with_si["bytes"] - plain["bytes"] < 80
            assert with_si["side_bpp"] > 0
    assert {"avif", "jpeg_si", "avif_si"} <= set(report["bd_rate"]["jpeg"])
    assert set(report["bd_rate"]["avif"]) == {"avif_si"}
    assert report["standard_si"]["codecs"] == ["avif", "jpeg"]
    assert report["standard_si"]["weights_hash"]
    assert (out / "rd.png").is_file()


def test_progress_bar_counts_every_code_to_the_total(two_sets, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["--pairs", str(two_sets[0]), "--out", str(out), "--codecs", "jpeg", "webp",
            "--grid=jpeg=10,90", "--grid=webp=10,80,90"]  # fmt: skip
    assert main(argv) == 0
    # 2 pairs x (2 jpeg + 3 webp settings) = 10 codes; the bar ends at 10/10 on stderr.
    assert "10/10" in capsys.readouterr().err


def test_weights_from_another_folder(two_sets, tmp_path, capsys):
    torch.set_num_threads(1)
    shipped = registry.weights_path(registry.DEFAULT_MODEL)
    candidate = tmp_path / "candidate"
    candidate.mkdir()
    shutil.copy(shipped, candidate / shipped.name)
    out = tmp_path / "out"
    argv = ["--pairs", str(two_sets[1]), "--out", str(out), "--limit", "1", "--no-progress",
            "--codecs", "ours", "jpeg", "--qualities", "1", "2",
            "--self-ensemble", "1"]  # fmt: skip
    assert main([*argv, "--weights-dir", str(candidate)]) == 0
    report = json.loads((out / "rd.json").read_text())
    assert report["settings"]["weights_dir"] == str(candidate)
    assert report["weights_hash"] == registry.load().weights_hash
    assert main([*argv, "--weights-dir", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert "weights:" in err and str(tmp_path / "empty") in err
