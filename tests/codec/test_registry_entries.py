"""Registry entries: learned and standard models share the id/summary base and its keying."""

from __future__ import annotations

import pytest

from pipeline.codec.bitstream.errors import WeightsError
from pipeline.codec.weights import (
    STANDARD_MODELS,
    RegistryEntry,
    StandardModelSpec,
    by_model_id,
    standard_model_id,
)


def test_standard_models_are_keyed_by_their_id_and_found_by_codec():
    assert sorted(STANDARD_MODELS) == ["avif-si1", "jpeg-si1", "webp-si1"]
    assert all(isinstance(spec, RegistryEntry) for spec in STANDARD_MODELS.values())
    assert standard_model_id("webp") == "webp-si1"
    with pytest.raises(WeightsError, match="no registered model for codec 'png'"):
        standard_model_id("png")


def test_an_id_registered_twice_is_refused():
    entry = StandardModelSpec("jpeg-si1", "jpeg", "si-std1", summary="one")
    with pytest.raises(ValueError, match="'jpeg-si1' registered twice"):
        by_model_id([entry, StandardModelSpec("jpeg-si1", "webp", "x", summary="two")])


def test_the_summary_is_keyword_only_after_the_kinds_own_fields():
    with pytest.raises(TypeError):
        StandardModelSpec("jpeg-si1", "jpeg", "si-std1", "summary")  # type: ignore[misc]
