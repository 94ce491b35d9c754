"""The encode-speed benchmark times every camera codec, and candidate weights beside them."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
import torch

from benchmarks import common, encode_speed, video_speed
from pipeline.codec.model import registry


@pytest.fixture(autouse=True)
def _threads():
    """The benchmark pins one thread, as a camera runs; give the other tests theirs back."""
    torch_threads, cv_threads = torch.get_num_threads(), cv2.getNumThreads()
    yield
    torch.set_num_threads(torch_threads)
    cv2.setNumThreads(cv_threads)


def test_candidate_weights_are_timed_beside_the_shipped_ones(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "DATA", tmp_path / "none")  # the synthetic frame: self-contained
    registry.export(registry.load().model, registry.DEFAULT_MODEL, tmp_path / "candidate")
    result = encode_speed.main(
        ["--repeats", "1", "--weights-dir", str(tmp_path / "candidate"), "--sequence-frames", "0"]
    )
    assert "synthetic scene" in result["frame"]
    assert set(result["codecs"]) == {"dsin", "jpeg", "webp", "avif", "candidate"}
    for name, figures in result["codecs"].items():
        for frame in ("colour", "grey"):
            assert figures[frame]["median_s"] > 0 and figures[frame]["bpp"] > 0, name
        # grey is coded as grey by every codec but WebP (which has no grey mode)
        if name in ("jpeg", "avif"):
            assert figures["grey"]["bpp"] < figures["colour"]["bpp"], name
    assert result["codecs"]["jpeg"]["colour"]["ratio_vs_jpeg"] == 1.0
    assert result["candidate_ratio_vs_dsin"] > 0
    with pytest.raises(registry.WeightsError):
        encode_speed.main(["--repeats", "1", "--weights-dir", str(tmp_path / "empty")])


def test_video_codecs_are_timed_on_a_sequence_beside_avif(monkeypatch):
    """Consecutive frames (the synthetic scene without the data), each codec's software
    encoder at a camera's settings; a keyframe a second at 5 fps: keyframes at 0 and 5."""
    monkeypatch.setattr(common, "DATA", Path("/nonexistent"))
    result = video_speed.video_sequence(count=8, fps=5.0, threads=1)
    assert result["frames"] == "640x480, synthetic scene (grey)"
    codecs = result["codecs"]
    assert set(codecs) == {"h264", "hevc", "av1", "avif"}
    assert [codecs[c]["encoder"] for c in ("h264", "hevc", "av1")] == [
        "libx264",
        "libx265",
        "libsvtav1",
    ]
    for name, figures in codecs.items():
        assert figures["median_s"] > 0 and figures["keyframe_median_s"] > 0, name
        assert figures["psnr"] > 30 and figures["bpp"] > 0, name
    # the synthetic scene moves: the video codecs still code it in fewer bits than AVIF
    assert all(codecs[c]["bpp"] < codecs["avif"]["bpp"] for c in ("h264", "hevc", "av1"))
    assert codecs["avif"]["ratio_vs_avif"] == 1.0
