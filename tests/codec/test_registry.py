"""Weights are checked on load: hash in the name, architecture, CDF tables."""

from __future__ import annotations

import shutil

import pytest

from pipeline.codec.bitstream.errors import WeightsError
from pipeline.codec.model import registry


def test_shipped_default_model_loads_with_its_hash():
    loaded = registry.load()
    assert registry.weights_path(registry.DEFAULT_MODEL).stem.endswith(loaded.weights_hash)


def test_tampered_weights_file_is_refused(tmp_path):
    source = registry.weights_path(registry.DEFAULT_MODEL)
    copy = tmp_path / source.name
    shutil.copy(source, copy)
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0x01
    copy.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="SHA-256"):
        registry.load(registry.DEFAULT_MODEL, tmp_path)


def test_missing_or_unknown_weights_are_clear_errors(tmp_path):
    with pytest.raises(WeightsError, match="expected one weights file"):
        registry.load(registry.DEFAULT_MODEL, tmp_path)
    with pytest.raises(WeightsError, match="unknown model"):
        registry.load("no-such-model")
