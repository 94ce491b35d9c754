"""Relevelling a checkpoint: gains on the log-log line, other weights untouched, resumable."""

from __future__ import annotations

import math

import pytest
import torch

from pipeline.codec.model.dsin import CodecConfig, DsinCodec
from pipeline.training.loop.trainer import TrainConfig, Trainer
from pipeline.training.surgery.levels import relevel_checkpoint, resample_gains

OLD = (0.01, 0.02, 0.04)
NEW = (0.005, 0.01, 0.03, 0.04, 0.08)


def test_known_levels_are_kept_and_new_ones_lie_on_the_log_log_line():
    # Channel 0 follows gain = lambda^0.5 exactly; channel 1 is constant.
    gains = torch.tensor([[math.sqrt(v), 2.0] for v in OLD])
    out = resample_gains(gains, OLD, NEW)
    assert out.shape == (5, 2)
    assert out[:, 0].tolist() == pytest.approx([math.sqrt(v) for v in NEW], rel=1e-6)
    assert out[:, 1].tolist() == pytest.approx([2.0] * 5, rel=1e-6)


def test_between_two_levels_the_gain_is_their_geometric_interpolation():
    gains = torch.tensor([[1.0], [4.0], [8.0]])
    # log(0.03) sits at t = log(1.5)/log(2) between 0.02 and 0.04: gain 4 * 2^t = 6.
    out = resample_gains(gains, OLD, (0.03,))
    assert float(out[0, 0]) == pytest.approx(6.0, rel=1e-6)


def test_bad_lambdas_are_refused():
    with pytest.raises(ValueError, match="increasing"):
        resample_gains(torch.ones(3, 2), (0.02, 0.01, 0.04), NEW)
    with pytest.raises(ValueError, match="one gain vector"):
        resample_gains(torch.ones(2, 2), OLD, NEW)


def test_a_relevelled_checkpoint_resumes_with_the_new_levels(tmp_path):
    small = dict(n=16, n_a=16, n_h=16, m=16, nz=16, groups=2, si_width=8)
    old_run, new_run = tmp_path / "old", tmp_path / "new"
    trainer = Trainer(DsinCodec(CodecConfig(**small, lambdas=OLD)), TrainConfig(str(old_run)))
    trainer.step_count = 7
    trainer.save()
    relevel_checkpoint(old_run / "checkpoint.pt", new_run / "checkpoint.pt", OLD, NEW)
    again = Trainer(DsinCodec(CodecConfig(**small, lambdas=NEW)), TrainConfig(str(new_run)))
    assert again.resume() and again.step_count == 7
    assert again.model.gain.gain.shape == (5, 16)
    assert torch.equal(again.model.g_a[1].weight, trainer.model.g_a[1].weight)
    kept = again.model.gain.gain[1].abs()  # NEW[1] == OLD[0]
    assert torch.allclose(kept, trainer.model.gain.gain[0].abs(), rtol=1e-5)
