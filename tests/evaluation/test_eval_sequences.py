"""``stereo-pipeline eval --sequences`` end to end on tiny synthetic sequences in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from pipeline.codec.bitstream.container import parse
from pipeline.codec.decode.pixels import Pixels
from pipeline.codec.decode.side_information import SideInformation
from pipeline.codec.family import VIDEO
from pipeline.codec.model.si_standard import export_standard_net, load_standard_file
from pipeline.codec.model.tensors import to_image, to_tensor
from pipeline.codec.video import VideoSettings
from pipeline.codec.weights import VIDEO_SI_WEIGHTS, weights_path
from pipeline.evaluation import video_si
from pipeline.evaluation.cli import main
from pipeline.evaluation.video_si import VideoSI
from pipeline.evaluation.video_streams import code_sequence
from tests.conftest import natural_image

SHIFT = 6
"""Disparity of the synthetic rig: the right view is the scene shifted by this many columns."""


def _frames(count: int, size: tuple[int, int], channels: int, start: int = 0):
    """A scene panning 2 pixels a frame, as (left, right) views of ``size``."""
    height, width = size
    scene = natural_image(height, width + SHIFT + 2 * (start + count), channels, seed=7)
    for index in range(start, start + count):
        window = scene[:, 2 * index :]
        yield window[:, SHIFT : SHIFT + width], window[:, :width]


def _write_sequence(root: Path, name: str, frames) -> Path:
    for index, (left, right) in enumerate(frames):
        for side, view in (("left", left), ("right", right)):
            (root / name / side).mkdir(parents=True, exist_ok=True)
            image = view if view.ndim == 2 else cv2.cvtColor(view, cv2.COLOR_RGB2BGR)
            assert cv2.imwrite(str(root / name / side / f"{index:06d}.png"), image)
    return root / name


@pytest.fixture
def grey_sequence(tmp_path):
    """Six grey frames; the size changes at frame 3, as a camera's stream may."""
    frames = [*_frames(3, (48, 64), 1), *_frames(3, (40, 56), 1, start=3)]
    return _write_sequence(tmp_path, "pan", frames)


def _run(sequence: Path, out: Path, *extra: str) -> dict:
    argv = ["--sequences", str(sequence), "--out", str(out), "--fps", "2", "--no-progress"]
    grids = ["--grid", "h264=20,30,40", "--grid", "jpeg=30,80", "--grid", "avif=40,80"]
    codecs = ["--codecs", "h264", "h264_si", "jpeg", "avif"]
    assert main([*argv, *grids, *codecs, "--self-ensemble", "1", *extra]) == 0
    return json.loads((out / "rd.json").read_text())


def test_a_sequence_is_coded_whole_and_reported_per_setting(grey_sequence, tmp_path, capsys):
    report = _run(grey_sequence, tmp_path / "out")
    assert set(report["codecs"]) == {"h264", "h264_si", "jpeg", "avif"}
    assert sorted(p["quality"] for p in report["codecs"]["h264"]) == [20, 30, 40]
    frames = [r for r in report["pairs"] if r["codec"] == "h264" and r["quality"] == 30]
    assert [r["pair"] for r in frames] == [f"{i:06d}" for i in range(6)]
    # a keyframe every second at 2 fps, and one where the size changes (a new stream)
    assert [r["keyframe"] for r in frames] == [True, False, True, True, False, True]
    point = next(p for p in report["codecs"]["h264"] if p["quality"] == 30)
    pixels = 3 * 48 * 64 + 3 * 40 * 56
    assert point["frames"] == 6
    assert point["bpp"] == pytest.approx(sum(r["bytes"] for r in frames) * 8 / pixels)
    assert point["psnr"] == pytest.approx(np.mean([r["psnr"] for r in frames]))
    assert point["right_bpp"] > 0 and 20 < point["right_psnr"] < 60
    si = [r for r in report["pairs"] if r["codec"] == "h264_si" and r["quality"] == 30]
    # the *_si row pays for the camera's container; the right view's container is its side
    for with_si, alone in zip(si, frames, strict=True):
        assert with_si["bytes"] == alone["container_bytes"] > alone["bytes"]
        assert with_si["side_bytes"] == alone["right_container_bytes"]
    assert set(report["bd_rate"]) >= {"jpeg", "avif", "h264"}
    assert set(report["bd_rate"]["avif"]) == {"jpeg", "h264", "h264_si"}
    assert report["bd_rate"]["h264"]["h264_si"] is not None
    assert report["settings"]["encoders"] == {"h264": "libx264"}
    assert report["qualities"]["h264"] == [20, 30, 40]
    assert report["video_si"]["weights_hash"] == weights_path(VIDEO_SI_WEIGHTS).stem[-16:]
    assert (tmp_path / "out" / "rd.png").stat().st_size > 0
    assert "BD-rate (pan) vs avif: jpeg" in capsys.readouterr().out


def test_a_rerun_with_new_si_weights_reuses_the_streams_and_the_si_finder(
    grey_sequence, tmp_path, monkeypatch
):
    cache = ["--cache", str(tmp_path / "cache")]
    first = _run(grey_sequence, tmp_path / "first", *cache)

    def no_search(*args):
        raise AssertionError("the SI-Finder ran again")

    monkeypatch.setattr(video_si, "find", no_search)
    again = _run(grey_sequence, tmp_path / "again", *cache)
    assert again["pairs"] == first["pairs"]
    # new weights that leave X_dec alone: h264_si decodes to what h264 decodes to
    net, _ = load_standard_file(weights_path(VIDEO_SI_WEIGHTS))
    net.codec_scale.zero_()
    weights = tmp_path / "weights"
    export_standard_net(net, VIDEO_SI_WEIGHTS, weights)
    new = _run(grey_sequence, tmp_path / "new", *cache, "--weights-dir", str(weights))
    assert new["video_si"]["weights_hash"] != first["video_si"]["weights_hash"]
    rows = {(r["codec"], r["quality"], r["pair"]): r for r in new["pairs"]}
    for (codec, quality, pair), row in rows.items():
        if codec == "h264_si":
            assert row["psnr"] == rows[("h264", quality, pair)]["psnr"]
    old = {(r["codec"], r["quality"], r["pair"]): r["psnr"] for r in first["pairs"]}
    assert any(old[key] != row["psnr"] for key, row in rows.items() if key[0] == "h264_si")


def test_video_side_information_is_the_decoders_path():
    left_right = list(_frames(2, (48, 64), 1))
    coded = code_sequence(VideoSettings(codec="h264", fps=10, crf=35), left_right)
    side = VideoSI("cpu", 1)
    digest = weights_path(VIDEO_SI_WEIGHTS).stem.rsplit("-", 1)[1]
    left, right = coded.frames[1]
    y_syn, confidence = side.find(left.decoded, right.decoded)
    ours = side.fuse(left.container, left.decoded, y_syn, confidence)
    header = parse(left.container).header
    x_dec = to_tensor(left.decoded)
    view = Pixels(header, x_dec, "h264", side.entry, VIDEO)
    stages = SideInformation(None, 1, torch.device("cpu"), side.dtype)
    reference = [to_tensor(right.decoded)]
    fused, _ = stages.fuse([x_dec], reference, [view], [None], lambda _, work: work())
    assert header.quality == 65 and side.weights_hash == digest
    assert np.array_equal(ours, to_image(fused[0], 1))


def test_bad_sequence_arguments_are_refused(grey_sequence, tmp_path, capsys):
    out = ["--out", str(tmp_path / "out"), "--no-progress"]
    assert main(["--pairs", str(grey_sequence), *out, "--codecs", "h264"]) == 2
    assert "give --sequences" in capsys.readouterr().err
    assert main(["--sequences", str(grey_sequence), *out, "--grid", "h264=10,60"]) == 2
    assert "0..51" in capsys.readouterr().err
    assert main(["--sequences", str(tmp_path / "none"), *out]) == 2
    assert "no left/ folder" in capsys.readouterr().err
    assert main(["--sequences", str(grey_sequence), *out, "--codecs", "ours"]) == 2
    assert "ours codes pairs" in capsys.readouterr().err


def test_a_colour_sequence_scores_colour(tmp_path):
    sequence = _write_sequence(tmp_path, "colour", _frames(3, (48, 64), 3))
    out = tmp_path / "out"
    argv = ["--sequences", str(sequence), "--out", str(out), "--no-progress", "--limit", "2"]
    assert main([*argv, "--codecs", "h264", "jpeg", "--grid", "h264=25,35"]) == 0
    report = json.loads((out / "rd.json").read_text())
    assert {r["channels"] for r in report["pairs"]} == {3}
    assert {r["pair"] for r in report["pairs"]} == {"000000", "000001"}
    assert report["inputs"] == [{"set": "colour", "path": str(sequence), "frames": 2}]
