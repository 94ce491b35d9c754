"""The integer hyper-synthesis is exact: float64 path == int64 reference, on any input."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from pipeline.codec.model.integer_hyper import ACT_BITS, ACT_MAX, WEIGHT_BITS, IntegerHyperSynthesis


def _int64_reference(
    net: IntegerHyperSynthesis, z: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The same network in pure int64 arithmetic (no floating point at all)."""
    x = z.to(torch.int64)
    in_bits = 0
    for layer in [*net.layers, net.head]:
        w = torch.round(layer.weight.double() * 2**WEIGHT_BITS).to(torch.int64)
        b = torch.round(layer.bias.double() * 2 ** (WEIGHT_BITS + in_bits)).to(torch.int64)
        k = layer.kernel_size[0]
        cols = F.unfold(x.double(), k, padding=k // 2).to(torch.int64)
        acc = (w.flatten(1) @ cols + b[:, None]).view(x.shape[0], -1, *x.shape[-2:])
        if layer is net.head:
            out = acc.double() / 2 ** (WEIGHT_BITS + in_bits)
            return tuple(out.float().chunk(2, dim=1))
        shifted = torch.div(acc, 2 ** (WEIGHT_BITS + in_bits - ACT_BITS), rounding_mode="floor")
        x = F.pixel_shuffle(shifted.clamp(0, int(ACT_MAX * 2**ACT_BITS)).double(), 2).to(
            torch.int64
        )
        in_bits = ACT_BITS
    raise AssertionError("unreachable")


def test_integer_path_matches_int64_reference_exactly():
    torch.manual_seed(0)
    net = IntegerHyperSynthesis(nz=16, n=24, m=32)
    for p in net.parameters():
        p.data.normal_(0, 0.3)
    z = torch.randint(-40, 41, (2, 16, 5, 7)).float()
    means, scales = net.integer_forward(z)
    ref_means, ref_scales = _int64_reference(net, z)
    assert torch.equal(means, ref_means) and torch.equal(scales, ref_scales)


def test_integer_path_is_thread_count_independent():
    torch.manual_seed(1)
    net = IntegerHyperSynthesis(nz=16, n=24, m=32)
    z = torch.randint(-60, 61, (1, 16, 9, 11)).float()
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = net.integer_forward(z)
        torch.set_num_threads(2)
        two = net.integer_forward(z)
    finally:
        torch.set_num_threads(before)
    assert all(torch.equal(a, b) for a, b in zip(one, two, strict=True))


def test_training_path_emulates_the_integer_path():
    torch.manual_seed(2)
    net = IntegerHyperSynthesis(nz=8, n=16, m=16)
    z = torch.randint(-20, 21, (1, 8, 4, 4)).float()
    exact = net.integer_forward(z)
    emulated = net(z)
    for a, b in zip(exact, emulated, strict=True):
        assert torch.allclose(a, b, atol=1e-3)


def test_quantised_weights_survive_fp16_storage():
    torch.manual_seed(3)
    net = IntegerHyperSynthesis(nz=8, n=16, m=16)
    net.quantize_weights_()
    for layer in [*net.layers, net.head]:
        assert torch.equal(layer.weight.half().float(), layer.weight)
