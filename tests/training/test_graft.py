"""Grafting an SI-Net onto another codec: the right tensors from each side, resumable."""

from __future__ import annotations

import pytest
import torch

from pipeline.codec.model.dsin import CodecConfig, DsinCodec
from pipeline.training.loop.trainer import TrainConfig, Trainer
from pipeline.training.surgery.graft import graft_checkpoint, graft_si_net

SMALL = dict(n=16, n_a=16, n_h=16, m=16, nz=16, groups=2, si_width=8, lambdas=(0.01, 0.04))


def _saved(tmp_path, name, seed, step):
    torch.manual_seed(seed)
    trainer = Trainer(DsinCodec(CodecConfig(**SMALL)), TrainConfig(str(tmp_path / name)))
    trainer.step_count = step
    trainer.save()
    return trainer


def test_the_graft_keeps_the_codec_and_takes_the_si_net(tmp_path):
    codec, si = _saved(tmp_path, "codec", 1, 40), _saved(tmp_path, "si", 2, 9)
    target = tmp_path / "next" / "checkpoint.pt"
    graft_checkpoint(codec.checkpoint_path, si.checkpoint_path, target)
    again = Trainer(DsinCodec(CodecConfig(**SMALL)), TrainConfig(str(target.parent)))
    assert again.resume() and again.step_count == 40
    for key, value in again.model.state_dict().items():
        source = si if key.startswith("si_net.") else codec
        assert torch.equal(value, source.model.state_dict()[key]), key
    # the two runs really differed, so the test above can fail
    first = next(iter(codec.model.si_net.parameters()))
    assert not torch.equal(first, next(iter(si.model.si_net.parameters())))


def test_a_mismatched_si_net_names_the_key():
    codec = {"g_a.w": torch.zeros(2), "si_net.a": torch.zeros(3)}
    with pytest.raises(ValueError, match=r"si_net\.a: shape \(4,\)"):
        graft_si_net(codec, {"si_net.a": torch.zeros(4)})
    with pytest.raises(ValueError, match=r"si_net\.a: missing"):
        graft_si_net(codec, {"si_net.b": torch.zeros(3)})
    with pytest.raises(ValueError, match=r"si_net\.b: in the SI checkpoint"):
        graft_si_net(codec, {"si_net.a": torch.zeros(3), "si_net.b": torch.zeros(1)})
