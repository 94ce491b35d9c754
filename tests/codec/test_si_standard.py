"""The standard-codec SI-Net: starts as the identity, keeps any size, round-trips its weights."""

from __future__ import annotations

import pytest
import torch

from pipeline.codec.model.si_standard import (
    StandardSIConfig,
    StandardSINet,
    export_standard_net,
    load_standard_net,
)


@pytest.mark.parametrize("shuffle", [1, 2])
def test_an_untrained_net_returns_x_dec_at_any_size(shuffle):
    net = StandardSINet(StandardSIConfig(width=8, shuffle=shuffle)).eval()
    x, y = torch.rand(2, 3, 37, 50), torch.rand(2, 3, 37, 50)
    confidence = torch.rand(2, 1, 37, 50) * 2 - 1
    out = net(x, y, confidence, torch.tensor([0, 2]), torch.tensor([5, 95]))
    assert torch.equal(out, x)


def test_codec_and_quality_select_the_residual_scale():
    net = StandardSINet(StandardSIConfig(width=8)).eval()
    torch.nn.init.normal_(net.net.body[-1].weight, std=0.1)
    net.codec_scale.zero_()
    net.codec_scale[1, 40] = 1.0
    x, y, c = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16), torch.zeros(2, 1, 16, 16)
    out = net(x, y, c, torch.tensor([1, 1]), torch.tensor([40, 41]))
    assert not torch.equal(out[0], x[0]) and torch.equal(out[1], x[1])
    with pytest.raises(ValueError, match="serves"):
        net.codec_index("png")


def test_export_and_load_keep_the_architecture_and_the_function(tmp_path):
    net = StandardSINet(StandardSIConfig(width=8, shuffle=2)).eval()
    torch.nn.init.normal_(net.net.body[-1].weight, std=0.1)
    path = export_standard_net(net, "si-test", tmp_path)
    loaded, digest = load_standard_net("si-test", tmp_path)
    assert path.name == f"si-test-{digest}.pt" and loaded.config == net.config
    x, y, c = torch.rand(1, 3, 20, 24), torch.rand(1, 3, 20, 24), torch.zeros(1, 1, 20, 24)
    codec, quality = torch.tensor([2]), torch.tensor([60])
    # fp16 weights on disk: the outputs agree to the weights' precision
    assert torch.allclose(loaded(x, y, c, codec, quality), net(x, y, c, codec, quality), atol=1e-3)
