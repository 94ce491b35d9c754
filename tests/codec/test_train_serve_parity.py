"""Train/serve parity: what training and calibration compute for a pair is what the decoder
outputs, bit for bit (float32, one SI-Net pass, deterministic CPU), for both families."""

from __future__ import annotations

import numpy as np
import torch

from pipeline.codec import DecodeRequest
from pipeline.codec.decode.device import onednn
from pipeline.codec.model.fusion import find
from pipeline.codec.model.tensors import to_image, to_tensor
from pipeline.training.standard.prepare import code
from tests.golden.pins import CODECS, bitstream_path, source


def _pair(codec: str) -> DecodeRequest:
    """The pinned pair of ``codec`` (``tests/golden/pins.py``)."""
    left, right = (bitstream_path(codec, side).read_bytes() for side in ("left", "right"))
    return DecodeRequest(left, right)


def test_dsin_fuse_as_trained_is_the_decoders_output(exact_decoder):
    request = _pair("dsin")
    expected = exact_decoder.decode_batch([request]).pairs[0].left
    left, right = exact_decoder.entropy_decode([request]).items[0]
    model = left.entry.model
    with torch.no_grad(), onednn(enabled=False):
        x_dec, side = (_synthesised(view) for view in (left, right))
        levels = torch.tensor([left.level])
        fused = model.fuse(x_dec, side, level=levels)  # DsinCodec.fuse: training, calibration
    assert np.array_equal(to_image(fused[0], 3), expected)


def _synthesised(view) -> torch.Tensor:
    """X_dec of a learned view, (1, 3, H, W), as the decoder's synthesis makes it."""
    x_dec = view.entry.model.synthesise(view.y_hat[None], torch.tensor([view.level]))
    return x_dec[..., : view.header.height, : view.header.width]


def test_standard_si_net_as_prepared_and_calibrated_is_the_decoders_output(exact_decoder):
    request = _pair("jpeg")
    expected = exact_decoder.decode_batch([request]).pairs[0].left
    view, _ = exact_decoder.entropy_decode([request]).items[0]
    net = view.entry.net
    left, right = source()
    quality = CODECS["jpeg"]
    # what prepare.py stores and calibrate.py fits on: the codec's round trip, then find()
    x_dec = to_tensor(code("jpeg", left, quality))
    y_syn, confidence = find(x_dec, to_tensor(code("jpeg", right, quality)), net.config.si_finder)
    with torch.no_grad(), onednn(enabled=False):
        fused = net(
            x_dec[None],
            y_syn[None],
            confidence[None],
            torch.tensor([net.codec_index("jpeg")]),
            torch.tensor([quality]),
        )
    assert np.array_equal(to_image(fused[0], 3), expected)
