"""A bounds-checked rANS decoder for CompressAI's ``ans`` bitstreams, compiled with numba.

CompressAI's ``RansDecoder`` reads 32-bit words from its input without checking where the input
ends: a sub-stream that is empty or shorter than its symbols need makes it read past the end of
the buffer, which on hostile input is a segmentation fault or a silent read of other memory.
This decoder implements the same arithmetic (ryg_rans' 64-bit ``Rans64`` with 32-bit
renormalisation, 16-bit CDF precision, CompressAI's 4-bit bypass coding of out-of-range values),
so it decodes CompressAI's bitstreams bit for bit, but every read is checked against the end of
the input and every table index against the tables; a stream that would overrun, names a
missing table, or does not end exactly where its symbols do is refused with
:class:`~pipeline.codec.bitstream.errors.CorruptBitstreamError`.

It runs without the GIL (``nogil=True``), so several streams (the latent's channel groups, the
images of a batch) decode on several cores from a thread pool. The encoder stays CompressAI's.

numba is a dependency of the package. Where it cannot be installed (the lent GPU machine reaches
no package index, ``deploy/gpu``), :func:`decode` falls back to CompressAI's own decoder, which
does not check its reads, only when ``STEREO_ALLOW_UNCHECKED_RANS=1`` says so
(:data:`BOUNDS_CHECKED` is False there; the decoder daemon refuses to start without it).

The compiled kernels are cached on disk (``NUMBA_CACHE_DIR``, else next to this file or in the
user's cache folder). Where none of these is writable (a read-only image and home), they are
compiled at each start instead, with one warning naming ``NUMBA_CACHE_DIR``.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

try:
    import numba
except ImportError:  # pragma: no cover - only on a machine without a package index
    numba = None

from pipeline.codec.bitstream.errors import CodecError, CorruptBitstreamError

log = logging.getLogger(__name__)

PRECISION = 16
BYPASS_PRECISION = 4
MAX_BYPASS_VALUE = (1 << BYPASS_PRECISION) - 1
#: An int32 value needs at most 32 / 4 bypass chunks; the encoder never writes more.
MAX_BYPASS_CHUNKS = 33 // BYPASS_PRECISION + 1
RANS64_L = 1 << 31
BOUNDS_CHECKED = numba is not None
"""True when decoding is this module's bounds-checked decoder (numba installed)."""
ALLOW_UNCHECKED_ENV = "STEREO_ALLOW_UNCHECKED_RANS"
"""Set to 1 to let :func:`decode` use CompressAI's unchecked decoder where numba is missing."""

# Status codes of the compiled kernel (it cannot raise with a message).
_OK, _OVERRUN, _BAD_INDEX, _BAD_BYPASS, _NOT_AT_END = range(5)
_MESSAGES = {
    _OVERRUN: "the sub-stream ends before its symbols do",
    _BAD_INDEX: "a symbol names a table the model does not have",
    _BAD_BYPASS: "an escaped value is longer than any value the encoder writes",
    _NOT_AT_END: "the sub-stream does not end where its symbols do",
}


@dataclass(frozen=True)
class DecodeTables:
    """One entropy model's quantised CDFs as arrays: ``cdfs`` (tables, longest), row sizes
    ``lengths`` and value ``offsets`` (CompressAI's ``_quantized_cdf``, ``_cdf_length``,
    ``_offset``)."""

    cdfs: np.ndarray
    lengths: np.ndarray
    offsets: np.ndarray

    @classmethod
    def of(cls, cdfs: list[list[int]], lengths: list[int], offsets: list[int]) -> DecodeTables:
        """Pack CompressAI's per-table lists into contiguous int32 arrays."""
        longest = max(len(row) for row in cdfs)
        table = np.zeros((len(cdfs), longest), dtype=np.int32)
        for i, row in enumerate(cdfs):
            table[i, : len(row)] = row
        return cls(table, np.asarray(lengths, np.int32), np.asarray(offsets, np.int32))


def decode(string: bytes, indexes: np.ndarray, tables: DecodeTables) -> np.ndarray:
    """Decode one rANS stream: int32 values, one per entry of ``indexes`` (flat, int32).

    Raises :class:`CorruptBitstreamError` if the stream is malformed in any way the decoder can
    see (above); never reads outside ``string``.
    """
    if len(string) % 4 != 0 or len(string) < 8:
        raise CorruptBitstreamError(
            f"a rANS sub-stream of {len(string)} bytes (at least 8, a multiple of 4)"
        )
    flat = np.ascontiguousarray(indexes, dtype=np.int32).reshape(-1)
    if not BOUNDS_CHECKED:  # pragma: no cover - only on a machine without numba
        refusal = unchecked_refusal()
        if refusal is not None:
            raise UncheckedDecoderError(refusal)
        return _compressai_decode(string, flat, tables)
    words = np.frombuffer(string, dtype="<u4")
    out = np.empty(flat.size, dtype=np.int32)
    status = _decode(words, flat, tables.cdfs, tables.lengths, tables.offsets, out)
    if status != _OK:
        raise CorruptBitstreamError(f"entropy decoding failed: {_MESSAGES[status]}")
    return out


class UncheckedDecoderError(CodecError):
    """numba is missing and the unchecked fallback was not allowed (:data:`ALLOW_UNCHECKED_ENV`)."""


def unchecked_refusal() -> str | None:
    """Why entropy decoding may not run here, or None: numba is installed (bounds-checked), or
    the unchecked fallback is allowed by ``STEREO_ALLOW_UNCHECKED_RANS=1``."""
    if BOUNDS_CHECKED or os.environ.get(ALLOW_UNCHECKED_ENV) == "1":
        return None
    return (
        "numba is not installed, so entropy decoding would be CompressAI's decoder, which does "
        "not check its reads (hostile bitstreams): install numba (the 'learned' extra) or set "
        f"{ALLOW_UNCHECKED_ENV}=1 to accept that"
    )


def _compressai_decode(
    string: bytes, indexes: np.ndarray, tables: DecodeTables
) -> np.ndarray:  # pragma: no cover - only on a machine without numba
    """CompressAI's unchecked decoder, for machines where numba cannot be installed."""
    from compressai.ans import RansDecoder

    if indexes.min(initial=0) < 0 or indexes.max(initial=0) >= tables.cdfs.shape[0]:
        raise CorruptBitstreamError(f"entropy decoding failed: {_MESSAGES[_BAD_INDEX]}")
    cdfs = [row[:length].tolist() for row, length in zip(tables.cdfs, tables.lengths, strict=True)]
    values = RansDecoder().decode_with_indexes(
        string, indexes.tolist(), cdfs, tables.lengths.tolist(), tables.offsets.tolist()
    )
    return np.asarray(values, dtype=np.int32)


def _jit(**options) -> Callable:
    """numba's ``njit`` with ``options`` and an on-disk cache, or nothing where numba is missing.

    Where numba finds no writable place for its cache it compiles without one (:func:`_uncached`).
    """
    if numba is None:
        return lambda f: f

    def compile_(function: Callable) -> Callable:
        try:
            return numba.njit(cache=True, **options)(function)
        except RuntimeError as e:  # numba: "cannot cache function ...: no locator available"
            if "no locator available" not in str(e):
                raise
            return _uncached(function, options)

    return compile_


def _uncached(function: Callable, options: dict) -> Callable:
    """``function`` compiled without the on-disk cache (one warning for the module)."""
    _warn_no_cache()
    return numba.njit(**options)(function)


@functools.cache
def _warn_no_cache() -> None:
    log.warning(
        "numba cannot cache the rANS decoder (no writable cache folder): it compiles at each "
        "start; set NUMBA_CACHE_DIR to a writable folder (docs/install.md)"
    )


@_jit(nogil=True, inline="always")
def _get_bits(words, x, pos):  # pragma: no cover - compiled
    """CompressAI's ``Rans64DecGetBits`` for 4 bits; ``pos`` -1 when the words ran out."""
    bits = np.int64(x & np.uint64(MAX_BYPASS_VALUE))
    x >>= np.uint64(BYPASS_PRECISION)
    if x < np.uint64(RANS64_L):
        if pos >= words.size:
            return bits, x, -1
        x = (x << np.uint64(32)) | np.uint64(words[pos])
        pos += 1
    return bits, x, pos


@_jit(nogil=True)
def _decode(words, indexes, cdfs, lengths, offsets, out):  # pragma: no cover - compiled
    n_words = words.size
    x = np.uint64(words[0]) | (np.uint64(words[1]) << np.uint64(32))
    pos = 2
    mask = np.uint64((1 << PRECISION) - 1)
    low = np.uint64(RANS64_L)
    for i in range(indexes.size):
        table = indexes[i]
        if table < 0 or table >= cdfs.shape[0]:
            return _BAD_INDEX
        size = lengths[table]
        max_value = size - 2
        cum = np.int64(x & mask)
        s = 0
        while s + 1 < size - 1 and cdfs[table, s + 1] <= cum:
            s += 1
        start = np.uint64(cdfs[table, s])
        freq = np.uint64(cdfs[table, s + 1]) - start
        x = freq * (x >> np.uint64(PRECISION)) + (x & mask) - start
        if x < low:
            if pos >= n_words:
                return _OVERRUN
            x = (x << np.uint64(32)) | np.uint64(words[pos])
            pos += 1
        value = s
        if value == max_value:
            # Bypass: a count of 4-bit chunks (itself in chunks while they are all ones),
            # then the chunks of the raw value, least significant first.
            chunks = 0
            while True:
                bits, x, pos = _get_bits(words, x, pos)
                if pos < 0:
                    return _OVERRUN
                chunks += bits
                if chunks > MAX_BYPASS_CHUNKS:
                    return _BAD_BYPASS
                if bits != MAX_BYPASS_VALUE:
                    break
            raw = np.int64(0)
            for j in range(chunks):
                bits, x, pos = _get_bits(words, x, pos)
                if pos < 0:
                    return _OVERRUN
                raw |= bits << np.int64(j * BYPASS_PRECISION)
            raw &= np.int64(0xFFFFFFFF)
            if raw >= np.int64(1 << 31):  # C's int32 wrap of the shifted chunks
                raw -= np.int64(1 << 32)
            value = np.int64(raw >> 1)
            if raw & 1:
                value = -value - 1
            else:
                value += max_value
        out[i] = np.int32(value + offsets[table])
    if pos != n_words or x != low:
        return _NOT_AT_END
    return _OK
