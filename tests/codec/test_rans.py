"""The bounds-checked rANS decoder: CompressAI's streams bit for bit, hostile ones refused."""

from __future__ import annotations

import numpy as np
import pytest
from compressai.ans import RansEncoder

from pipeline.codec.bitstream.errors import CorruptBitstreamError
from pipeline.codec.entropy import rans
from pipeline.codec.entropy.coder import CdfTables
from pipeline.codec.model.registry import load


@pytest.fixture(scope="module")
def tables() -> CdfTables:
    return CdfTables.of(load().model.gaussian_conditional)


def _encode(tables: CdfTables, symbols: np.ndarray, indexes: np.ndarray) -> bytes:
    return RansEncoder().encode_with_indexes(
        symbols.tolist(), indexes.tolist(), tables.cdfs, tables.lengths, tables.offsets
    )


def _stream(tables: CdfTables, seed: int, count: int, spread: float):
    """A random stream; at least 4 symbols (CompressAI's encoder overruns its buffer below)."""
    rng = np.random.default_rng(seed)
    indexes = rng.integers(0, len(tables.cdfs), count).astype(np.int32)
    symbols = np.round(rng.normal(0, spread, count)).clip(-(2**28), 2**28).astype(np.int64)
    return _encode(tables, symbols, indexes), symbols, indexes


@pytest.mark.parametrize("spread", [0.3, 4.0, 200.0, 1e6])  # 1e6: escaped (bypass) values
def test_decodes_compressai_streams_exactly(tables, spread):
    for seed in range(40):
        string, symbols, indexes = _stream(tables, seed, 4 + seed * 37, spread)
        np.testing.assert_array_equal(rans.decode(string, indexes, tables.arrays), symbols)


def test_every_truncation_and_extension_is_refused(tables):
    string, _, indexes = _stream(tables, 1, 500, 4.0)
    for cut in range(0, len(string), 4):
        with pytest.raises(CorruptBitstreamError):
            rans.decode(string[:cut], indexes, tables.arrays)
    with pytest.raises(CorruptBitstreamError, match="does not end"):
        rans.decode(string + b"\0\0\0\0", indexes, tables.arrays)


def test_random_bytes_never_crash(tables):
    rng = np.random.default_rng(7)
    for trial in range(2000):
        size = int(rng.integers(0, 64)) * 4
        string = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        indexes = rng.integers(-2, len(tables.cdfs) + 2, int(rng.integers(1, 300)), dtype=np.int32)
        try:
            out = rans.decode(string, indexes, tables.arrays)
        except CorruptBitstreamError:
            continue
        assert out.shape == indexes.shape, trial
