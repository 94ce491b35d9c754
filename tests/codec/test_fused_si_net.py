"""The SI-Net body fused for CPU inference (each convolution with its LeakyReLU, oneDNN): the
eager body's output to rounding, only without gradients and with oneDNN on, and nothing where
the operator is missing."""

from __future__ import annotations

import pytest
import torch

from pipeline.codec.decode.device import onednn
from pipeline.codec.model import fused as fused_module
from pipeline.codec.model.si_net import SINet

pytestmark = pytest.mark.skipif(not fused_module.fused_available(), reason="no oneDNN here")


def _trained_like_net() -> SINet:
    torch.manual_seed(0)
    net = SINet(width=8, dilations=(1, 2, 4), levels=4, guided=True).eval()
    torch.nn.init.normal_(net.body[-1].weight, std=0.05)  # a last layer that is not zero
    return net


def _inputs() -> tuple[torch.Tensor, ...]:
    torch.manual_seed(1)
    x = torch.rand(2, 3, 40, 56)
    return (
        x,
        (x + 0.05 * torch.randn_like(x)).clamp(0, 1),
        torch.tensor([1, 3]),
        torch.rand(2, 1, 40, 56),
    )


@pytest.mark.parametrize(("dtype", "tolerance"), [(torch.float32, 1e-5), (torch.bfloat16, 0.02)])
def test_the_fused_body_gives_the_eager_bodys_output(dtype, tolerance):
    net = _trained_like_net()
    with torch.no_grad():
        eager = net(*_inputs())
        net.fuse(dtype)
        body, calls = net.fused, []
        net.fused = lambda x: calls.append(x) or body(x)
        fused = net(*_inputs())
    assert len(calls) == 1  # the fused body ran, not the eager one
    assert fused.dtype == eager.dtype
    assert float((fused - eager).abs().max()) < tolerance


def test_the_eager_body_runs_with_gradients_or_without_onednn():
    net = _trained_like_net()
    net.fuse(torch.float32)
    calls = []
    net.fused = calls.append
    net(*_inputs()).sum().backward()  # training: the body's own weights, with gradients
    with torch.no_grad(), onednn(enabled=False):  # the decoder's deterministic mode
        net(*_inputs())
    assert calls == []


def test_nothing_is_fused_where_the_operator_is_missing(monkeypatch):
    monkeypatch.setattr("pipeline.codec.model.si_net.fused_available", lambda: False)
    net = _trained_like_net()
    net.fuse(torch.bfloat16)
    assert net.fused is None
