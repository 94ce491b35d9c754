"""The SI-Net's per-level residual scales: how the decoder applies them, how they are fitted."""

from __future__ import annotations

import pytest
import torch

from pipeline.codec.model.dsin import CodecConfig, DsinCodec
from pipeline.codec.model.si_net import SINet
from pipeline.training.surgery.calibrate import residual_scales
from tests.conftest import natural_image

TINY = CodecConfig(n=16, n_a=16, n_h=16, m=16, nz=16, groups=2, si_width=8)


def test_each_item_gets_the_residual_scale_of_its_level():
    torch.manual_seed(0)
    net = SINet(8, levels=3)
    torch.nn.init.normal_(net.body[-1].weight, std=0.1)
    net.level_scale.copy_(torch.tensor([0.0, 0.5, 1.0]))
    x, y = torch.rand(3, 3, 16, 16), torch.rand(3, 3, 16, 16)
    full = net(x, y)  # no levels: the raw residual, as in training
    scaled = net(x, y, torch.tensor([0, 1, 2]))
    assert torch.equal(scaled[0], x[0])
    assert torch.allclose(scaled[1] - x[1], 0.5 * (full[1] - x[1]), atol=1e-6)
    assert torch.allclose(scaled[2], full[2])


@pytest.mark.parametrize(("overshoot", "expected"), [(2.0, 0.5), (0.5, 1.0), (-1.0, 0.0)])
def test_scales_are_the_clipped_least_squares_fit(monkeypatch, overshoot, expected):
    torch.manual_seed(1)
    model = DsinCodec(TINY)
    image = torch.from_numpy(natural_image(64, 64, 3, 5)).permute(2, 0, 1).float() / 255
    # A stand-in SI-Net whose residual is `overshoot` times the error of X_dec: the best scale
    # is 1 / overshoot, clipped to [0, 1].
    monkeypatch.setattr(model, "fuse", lambda x_dec, side, **_: x_dec + overshoot * (image - x_dec))
    scales = residual_scales(model, [(image, image.flip(-1))])
    assert scales.shape == (TINY.levels,)
    assert torch.allclose(scales, torch.full_like(scales, expected), atol=1e-4)
