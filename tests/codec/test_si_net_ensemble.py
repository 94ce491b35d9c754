"""The SI-Net's self-ensemble: equivariant when full, its size checked and chosen per device."""

from __future__ import annotations

import pytest
import torch

from pipeline.codec import StereoDecoder
from pipeline.codec.decode.device import resolve_ensemble
from pipeline.codec.model.registry import load
from pipeline.codec.model.si_net import SINet


@pytest.fixture(scope="module")
def si_net() -> SINet:
    return load().model.float().eval().si_net


def _inputs(seed: int = 0) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(seed)
    x_dec = torch.rand(1, 3, 40, 56, generator=generator)
    y_syn = (x_dec + 0.1 * torch.randn(1, 3, 40, 56, generator=generator)).clamp(0, 1)
    confidence = torch.rand(1, 1, 40, 56, generator=generator)
    return x_dec, y_syn, torch.tensor([3]), confidence


def test_ensemble_of_one_is_the_plain_net(si_net):
    x_dec, y_syn, level, confidence = _inputs()
    with torch.no_grad():
        plain = si_net(x_dec, y_syn, level, confidence)
        single = si_net(x_dec, y_syn, level, confidence, ensemble=1)
    assert torch.equal(plain, single)


@pytest.mark.parametrize("symmetry", [lambda t: t.flip(-2), lambda t: t.transpose(-1, -2)])
def test_full_ensemble_commutes_with_the_grids_symmetries(si_net, symmetry):
    x_dec, y_syn, level, confidence = _inputs(1)
    with torch.no_grad():

        def run(ensemble: int, f=lambda t: t) -> torch.Tensor:
            return si_net(f(x_dec), f(y_syn), level, f(confidence), ensemble=ensemble)

        plain_gap = (run(1, symmetry) - symmetry(run(1))).abs().max()
        full_gap = (run(8, symmetry) - symmetry(run(8))).abs().max()
    assert plain_gap > 1e-4  # the trained net alone is not symmetric, so the check can fail
    assert full_gap < 1e-5, (plain_gap, full_gap)


def test_ensemble_sizes_are_checked(si_net):
    x_dec, y_syn, level, confidence = _inputs()
    with pytest.raises(ValueError, match="ensemble"):
        si_net(x_dec, y_syn, level, confidence, ensemble=3)
    with pytest.raises(ValueError, match="self_ensemble"):
        StereoDecoder(device="cpu", self_ensemble=5)


def test_auto_ensemble_is_full_on_cuda_and_off_on_the_cpu():
    assert resolve_ensemble("auto", torch.device("cuda", 0)) == 8
    assert resolve_ensemble("auto", torch.device("cpu")) == 1
    assert resolve_ensemble(4, torch.device("cpu")) == 4
    assert StereoDecoder(device="cpu").self_ensemble == 1
    for bad in (True, 0, "8"):
        with pytest.raises(ValueError, match="self_ensemble"):
            resolve_ensemble(bad, torch.device("cpu"))
