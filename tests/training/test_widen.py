"""Widening the latent: the widened model decodes as before, and its new channels can learn."""

from __future__ import annotations

import pytest
import torch

from pipeline.codec.model.dsin import DsinCodec
from pipeline.training.loop.trainer import TrainConfig, Trainer
from pipeline.training.surgery.widen import widen_checkpoint, widen_state
from tests.training.widening import first_step_backward, widened_pair


def _models() -> tuple[DsinCodec, DsinCodec]:
    return widened_pair(lambda state: widen_state(state, 24), {"m": 16}, {"m": 24})


def test_the_widened_model_codes_exactly_as_before():
    narrow, wide = _models()
    image = torch.rand(2, 3, 64, 64)
    level = torch.tensor([0, 1])
    with torch.no_grad():
        before, after = narrow(image, level), wide(image, level)
        y_wide, z_wide = wide.analyse(image, level)
        _, z_narrow = narrow.analyse(image, level)
    assert torch.equal(after.x_dec, before.x_dec)
    assert torch.equal(z_wide, z_narrow)  # h_a ignores the new channels
    assert torch.count_nonzero(y_wide[:, 16:]) == 0
    old_means, _ = narrow.h_s(z_narrow)
    new_means, new_scales = wide.h_s(z_wide)
    assert torch.equal(new_means[:, :16], old_means)
    assert torch.all(new_means[:, 16:] == 0) and torch.all(new_scales[:, 16:] == 0.25)


def test_the_new_channels_receive_gradients_from_the_first_step():
    _, wide = _models()
    first_step_backward(wide)
    new_rows = wide.g_a[5].weight.grad[16:]
    assert new_rows.abs().sum() > 0
    assert wide.g_a[5].weight.grad[:16].abs().sum() > 0


def test_narrowing_is_refused_and_a_checkpoint_keeps_its_step(tmp_path):
    narrow, _ = _models()
    with pytest.raises(ValueError, match="must exceed"):
        widen_state(narrow.state_dict(), 16)
    source, target = tmp_path / "a.pt", tmp_path / "b" / "c.pt"
    torch.save({"model": narrow.state_dict(), "step": 5, "optimizer": {}}, source)
    widen_checkpoint(source, target, 20)
    state = torch.load(target, weights_only=False)
    assert state["step"] == 5 and "optimizer" not in state
    assert state["model"]["gain.gain"].shape == (2, 20)


def test_training_new_channels_only_leaves_every_old_weight_in_place(tmp_path):
    _, wide = _models()
    before = {k: v.clone() for k, v in wide.state_dict().items()}
    config = TrainConfig(str(tmp_path), codec_only=True, new_channels_from=16, lr=1e-2)
    trainer = Trainer(wide, config)
    image = torch.rand(2, 3, 64, 64)
    trainer.step(image, image.flip(-1))
    after = wide.state_dict()
    assert torch.equal(after["g_s.0.weight"][:16], before["g_s.0.weight"][:16])
    assert torch.equal(after["gain.gain"][:, :16], before["gain.gain"][:, :16])
    assert torch.equal(after["h_s.head.bias"][:16], before["h_s.head.bias"][:16])
    assert torch.equal(after["g_s.2.weight"], before["g_s.2.weight"])
    assert not torch.equal(after["g_a.5.weight"][16:], before["g_a.5.weight"][16:])
    assert not torch.equal(after["h_s.head.bias"][40:], before["h_s.head.bias"][40:])  # scales
