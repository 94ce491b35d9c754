"""The encode-speed benchmark times every camera codec, and candidate weights beside them."""

from __future__ import annotations

import cv2
import pytest
import torch

from benchmarks import common, encode_speed
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
    result = encode_speed.main(["--repeats", "1", "--weights-dir", str(tmp_path / "candidate")])
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
