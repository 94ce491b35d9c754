"""Guiding an SI-Net: two new input planes that start silent, and the level scales reset."""

from __future__ import annotations

import pytest
import torch

from pipeline.codec.model.dsin import CodecConfig, DsinCodec
from pipeline.codec.model.si_net import SINet
from pipeline.training.loop.trainer import TrainConfig, Trainer
from pipeline.training.surgery.guide import guide_checkpoint, guide_state

SMALL = dict(n=16, n_a=16, n_h=16, m=16, nz=16, groups=2, si_width=8, lambdas=(0.01, 0.04))


def test_a_guided_si_net_starts_as_the_plain_one_and_resumes(tmp_path):
    torch.manual_seed(3)
    plain = DsinCodec(CodecConfig(**SMALL))
    torch.nn.init.normal_(plain.si_net.body[-1].weight, std=0.05)  # not the identity
    plain.si_net.level_scale.fill_(0.5)
    trainer = Trainer(plain, TrainConfig(str(tmp_path / "plain")))
    trainer.step_count = 12
    trainer.save()
    target = tmp_path / "guided" / "checkpoint.pt"
    guide_checkpoint(trainer.checkpoint_path, target)
    guided_config = CodecConfig(**SMALL, si_guided=True)
    again = Trainer(DsinCodec(guided_config), TrainConfig(str(target.parent)))
    assert again.resume() and again.step_count == 12
    guided = again.model.eval()
    assert torch.equal(guided.si_net.level_scale, torch.ones(2))
    x_dec, side = torch.rand(2, 3, 32, 48), torch.rand(2, 3, 32, 48)
    level = torch.tensor([0, 1])
    expected = plain.eval().fuse(x_dec, side, level=level, scaled=False)
    assert torch.allclose(guided.fuse(x_dec, side, level=level), expected, atol=1e-6)


def test_guiding_twice_names_the_key():
    state = DsinCodec(CodecConfig(**SMALL, si_guided=True)).state_dict()
    with pytest.raises(ValueError, match=r"si_net\.body\.0\.weight: expected 6 input planes"):
        guide_state(state)


def test_the_guide_inputs_reach_the_output():
    net = SINet(8, levels=3, guided=True)
    torch.nn.init.normal_(net.body[-1].weight, std=0.1)
    torch.nn.init.normal_(net.body[0].weight, std=0.1)
    x_dec, y_syn = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    sure, unsure = torch.ones(1, 1, 16, 16), torch.zeros(1, 1, 16, 16)
    low, high = torch.tensor([0]), torch.tensor([2])
    assert not torch.allclose(net(x_dec, y_syn, low, sure), net(x_dec, y_syn, low, unsure))
    assert not torch.allclose(net(x_dec, y_syn, low, sure), net(x_dec, y_syn, high, sure))
    with pytest.raises(ValueError, match="needs the quality level and the match confidence"):
        net(x_dec, y_syn)
