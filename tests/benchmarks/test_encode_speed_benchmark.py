"""The encode-speed benchmark times candidate weights beside the shipped ones."""

from __future__ import annotations

import cv2
import pytest
import torch

from benchmarks import common, encode_speed
from pipeline.codec import registry


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
    assert result["frame"].endswith("synthetic scene")
    assert result["candidate_median_s"] > 0 and result["candidate_ratio_vs_ours"] > 0
    with pytest.raises(registry.WeightsError):
        encode_speed.main(["--repeats", "1", "--weights-dir", str(tmp_path / "empty")])
