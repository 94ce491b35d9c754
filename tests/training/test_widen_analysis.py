"""Widening the camera's g_a: the widened encoder computes exactly as before, then can learn."""

from __future__ import annotations

import pytest
import torch

from pipeline.codec.model.dsin import DsinCodec
from pipeline.training.surgery.widen import main
from pipeline.training.surgery.widen_analysis import widen_analysis_state
from tests.training.widening import first_step_backward, widened_pair


def _couple(model: DsinCodec) -> None:
    """Trained-looking GDN coupling, so that a wrongly widened block would show."""
    for gdn in (model.g_a[2], model.g_a[4]):
        gdn.gamma.add_(0.05 * torch.rand_like(gdn.gamma))


def _models() -> tuple[DsinCodec, DsinCodec]:
    return widened_pair(
        lambda state: widen_analysis_state(state, 20), {"n_a": 8}, {"n_a": 20}, prepare=_couple
    )


def test_the_widened_encoder_codes_exactly_as_before():
    narrow, wide = _models()
    image = torch.rand(2, 3, 64, 64)
    level = torch.tensor([0, 1])
    with torch.no_grad():
        assert torch.equal(wide.g_a(image), narrow.g_a(image))
        assert torch.equal(wide(image, level).x_dec, narrow(image, level).x_dec)
    assert wide.g_a[3].weight.shape == (20, 20, 3, 3)


def test_widening_leaves_the_callers_random_state_alone():
    narrow, _ = _models()
    before = torch.random.get_rng_state()
    widen_analysis_state(narrow.state_dict(), 12, seed=3)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_the_new_channels_learn_from_the_first_step():
    _, wide = _models()
    first_step_backward(wide)
    assert wide.g_a[5].weight.grad[:, 8:].abs().sum() > 0  # the zero weights out of them


def test_narrowing_is_refused_and_one_command_widens_both(tmp_path, capsys):
    narrow, _ = _models()
    with pytest.raises(ValueError, match="must exceed"):
        widen_analysis_state(narrow.state_dict(), 8)
    source, target = tmp_path / "a.pt", tmp_path / "b" / "c.pt"
    torch.save({"model": narrow.state_dict(), "step": 7}, source)
    assert main([str(source), str(target), "--m", "24", "--n-a", "12"]) == 0
    state = torch.load(target, weights_only=False)["model"]
    assert state["g_a.3.weight"].shape == (12, 12, 3, 3)
    assert state["g_a.5.weight"].shape == (24, 12, 5, 5)
    with pytest.raises(SystemExit):
        main([str(source), str(target)])
    assert "--m and/or --n-a" in capsys.readouterr().err
