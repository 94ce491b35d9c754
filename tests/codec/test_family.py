"""Codec families: every camera codec, model id and weights name has exactly one family, and
what the camera asks of a family is what the registry says."""

from __future__ import annotations

import pytest
import torch

from pipeline.codec.bitstream.errors import WeightsError
from pipeline.codec.encode import StandardEncoder
from pipeline.codec.family import (
    FAMILIES,
    LEARNED,
    STANDARD,
    VIDEO,
    family_of_codec,
    family_of_model,
    family_of_weights,
    make_encoder,
    weights_of_model,
)
from pipeline.codec.model.fusion import ResidualFit
from pipeline.codec.model.registry import REGISTRY
from pipeline.codec.standard import CAMERA_CODECS
from pipeline.codec.weights import STANDARD_MODELS, known_names


def test_every_camera_codec_model_id_and_weights_name_has_one_family():
    assert sorted(c for f in FAMILIES for c in f.codecs) == sorted(CAMERA_CODECS)
    for model_id in (*REGISTRY, *STANDARD_MODELS):
        assert sum(f.serves_model(model_id) for f in FAMILIES) == 1, model_id
    for name in known_names():
        assert sum(f.serves_weights(name) for f in FAMILIES) == 1, name
    assert family_of_model("no-such-model") is None
    assert weights_of_model("no-such-model") == "no-such-model"


@pytest.mark.parametrize("codec", CAMERA_CODECS)
def test_a_codecs_family_names_the_model_and_weights_its_encoder_writes(codec):
    family = family_of_codec(codec)
    encoder = make_encoder(codec)
    assert family.model_id(codec) == encoder.model_id
    assert family_of_model(encoder.model_id) is family
    assert family_of_weights(family.weights_name(codec)) is family
    # a video stream has one quality (its CRF's); the family's top is the codec's best CRF's
    assert family.top_quality(codec) >= encoder.qualities[-1]
    assert (len(encoder.qualities) == 1) == (family is VIDEO)
    assert family.encodes_with_torch == (family is LEARNED)
    assert isinstance(encoder, StandardEncoder) == (family is STANDARD)


def test_unknown_codec_and_foreign_model_are_refused_by_name():
    with pytest.raises(ValueError, match="camera codecs: dsin"):
        family_of_codec("png")
    with pytest.raises(WeightsError, match="not a registered model of codec webp"):
        STANDARD.model_id("webp", "jpeg-si1")
    with pytest.raises(WeightsError, match="not a weights name"):
        family_of_weights("si-std9")


def test_residual_fit_is_the_clipped_least_squares_scale_per_cell():
    torch.manual_seed(0)
    x = torch.rand(1, 3, 8, 8)
    x_dec = x + 0.1 * torch.randn_like(x)
    fit = ResidualFit(2, 3)
    for cell, overshoot in (((0, 0), 2.0), ((0, 1), 0.5), ((1, 2), -1.0)):
        fit.add(cell, x_dec + overshoot * (x - x_dec), x_dec, x)
    scales = fit.scales()
    assert scales.shape == (2, 3)
    assert scales[0, 0] == pytest.approx(0.5) and scales[0, 1] == pytest.approx(1.0)
    assert scales[1, 2] == 0.0 and scales[1, 0] == 0.0  # no data: no residual
