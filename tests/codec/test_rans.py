"""The bounds-checked rANS decoder: CompressAI's streams bit for bit, hostile ones refused.

"Bit for bit" is checked against CompressAI's own ``RansDecoder`` on the same streams; and the
codec's decode path is checked to run this decoder, not CompressAI's unchecked fallback."""

from __future__ import annotations

import numpy as np
import pytest
from compressai.ans import RansDecoder, RansEncoder

from pipeline.codec import DecodeRequest
from pipeline.codec.bitstream.errors import CorruptBitstreamError
from pipeline.codec.entropy import rans
from pipeline.codec.entropy.coder import CdfTables
from pipeline.codec.model.registry import load
from tests.conftest import natural_image


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


def _compressai(tables: CdfTables, string: bytes, indexes: np.ndarray) -> np.ndarray:
    """CompressAI's own decoder on ``string``."""
    values = RansDecoder().decode_with_indexes(
        string, indexes.tolist(), tables.cdfs, tables.lengths, tables.offsets
    )
    return np.asarray(values, dtype=np.int64)


@pytest.mark.parametrize("spread", [0.3, 4.0, 200.0, 1e6])  # 1e6: escaped (bypass) values
def test_decodes_compressai_streams_exactly_as_compressai_does(tables, spread):
    for seed in range(40):
        string, symbols, indexes = _stream(tables, seed, 4 + seed * 37, spread)
        ours = rans.decode(string, indexes, tables.arrays)
        np.testing.assert_array_equal(ours, _compressai(tables, string, indexes))
        np.testing.assert_array_equal(ours, symbols)


def test_the_codec_decodes_with_the_bounds_checked_kernel(encoder, decoder, monkeypatch):
    """An image's decode runs :func:`rans._decode` for every sub-stream (z and each y group)
    and never CompressAI's decoder."""
    assert rans.BOUNDS_CHECKED
    calls = {"checked": 0, "unchecked": 0}
    kernel = rans._decode

    def checked(*args):
        calls["checked"] += 1
        return kernel(*args)

    def unchecked(*args):
        calls["unchecked"] += 1
        raise AssertionError("CompressAI's unchecked decoder was used")

    monkeypatch.setattr(rans, "_decode", checked)
    monkeypatch.setattr(rans, "_compressai_decode", unchecked)
    monkeypatch.setattr(RansDecoder, "decode_with_indexes", unchecked)
    data = encoder.encode(natural_image(48, 64, seed=3))
    decoder.decode_batch([DecodeRequest(primary=data)])
    assert calls == {"checked": 1 + load().model.config.groups, "unchecked": 0}  # z, y groups


def test_without_numba_decoding_needs_the_opt_in(tables, monkeypatch):
    """The fallback to CompressAI's decoder is refused unless STEREO_ALLOW_UNCHECKED_RANS=1;
    allowed, it decodes the same values."""
    string, symbols, indexes = _stream(tables, 3, 300, 4.0)
    monkeypatch.setattr(rans, "BOUNDS_CHECKED", False)
    monkeypatch.delenv(rans.ALLOW_UNCHECKED_ENV, raising=False)
    with pytest.raises(rans.UncheckedDecoderError, match=rans.ALLOW_UNCHECKED_ENV):
        rans.decode(string, indexes, tables.arrays)
    monkeypatch.setenv(rans.ALLOW_UNCHECKED_ENV, "1")
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
