"""Byte-level mutations of seed inputs, the moves of a coverage-guided fuzzer's mutator: bit
flips, interesting bytes and words, truncation, insertion, deletion, repeated slices (long
digit runs, deep nesting) and dictionary tokens. Hypothesis draws every choice, so a failing
input shrinks to the fewest, smallest mutations."""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence

from hypothesis import strategies as st

INTERESTING_BYTES = (0x00, 0x01, 0x7F, 0x80, 0xFF)
INTERESTING_WORDS = (0, 1, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)
#: Most bytes one repetition adds: enough for recursion bombs and huge digit strings.
MAX_REPEAT_BYTES = 1 << 16

Draw = Callable[[st.SearchStrategy], object]
Op = Callable[[Draw, bytearray, Sequence[bytes]], None]


def _position(draw: Draw, data: bytearray, *, end: bool = False) -> int:
    return draw(st.integers(0, len(data) if end else max(0, len(data) - 1)))


def _fragment(draw: Draw, tokens: Sequence[bytes]) -> bytes:
    if tokens and draw(st.booleans()):
        return draw(st.sampled_from(tokens))
    return draw(st.binary(min_size=1, max_size=32))


def _flip(draw: Draw, data: bytearray, tokens: Sequence[bytes]) -> None:
    if data:
        data[_position(draw, data)] ^= 1 << draw(st.integers(0, 7))


def _set_byte(draw: Draw, data: bytearray, tokens: Sequence[bytes]) -> None:
    if data:
        value = draw(st.sampled_from(INTERESTING_BYTES) | st.integers(0, 255))
        data[_position(draw, data)] = value


def _set_word(draw: Draw, data: bytearray, tokens: Sequence[bytes]) -> None:
    fmt = draw(st.sampled_from((">H", "<H", ">I", "<I")))
    size = struct.calcsize(fmt)
    if len(data) >= size:
        start = draw(st.integers(0, len(data) - size))
        value = draw(st.sampled_from(INTERESTING_WORDS)) & ((1 << (8 * size)) - 1)
        data[start : start + size] = struct.pack(fmt, value)


def _truncate(draw: Draw, data: bytearray, tokens: Sequence[bytes]) -> None:
    del data[_position(draw, data, end=True) :]


def _insert(draw: Draw, data: bytearray, tokens: Sequence[bytes]) -> None:
    at = _position(draw, data, end=True)
    data[at:at] = _fragment(draw, tokens)


def _extend(draw: Draw, data: bytearray, tokens: Sequence[bytes]) -> None:
    data += _fragment(draw, tokens)


def _delete(draw: Draw, data: bytearray, tokens: Sequence[bytes]) -> None:
    start = _position(draw, data, end=True)
    del data[start : start + draw(st.integers(1, 64))]


def _repeat(draw: Draw, data: bytearray, tokens: Sequence[bytes]) -> None:
    start = _position(draw, data)
    piece = bytes(data[start : start + draw(st.integers(1, 8))]) or _fragment(draw, tokens)
    count = draw(st.integers(2, max(2, MAX_REPEAT_BYTES // len(piece))))
    data[start:start] = piece * count


OPS: tuple[Op, ...] = (
    _flip,
    _set_byte,
    _set_word,
    _truncate,
    _insert,
    _extend,
    _delete,
    _repeat,
)


@st.composite
def mutated(
    draw: Draw, seeds: st.SearchStrategy[bytes], tokens: Sequence[bytes] = (), max_ops: int = 4
) -> bytes:
    """A seed drawn from ``seeds`` after 1 to ``max_ops`` mutations; ``tokens`` is the
    dictionary that insertions draw from (format keywords, delimiters)."""
    data = bytearray(draw(seeds))
    for _ in range(draw(st.integers(1, max_ops))):
        draw(st.sampled_from(OPS))(draw, data, tokens)
    return bytes(data)


ON_THE_WAY = ("drop", "duplicate", "swap")
"""What may happen to a message (or a packet) of a sequence on its way: :func:`on_the_way`."""


def on_the_way(draw: Draw, items: list, at: int, kind: str) -> None:
    """Apply ``kind`` (one of :data:`ON_THE_WAY`) to ``items[at]`` in place: lose it (never
    the last one), repeat it, or swap it with another item."""
    if kind == "drop" and len(items) > 1:
        del items[at]
    elif kind == "duplicate":
        items.insert(at, items[at])
    elif kind == "swap":
        other = draw(st.integers(0, len(items) - 1))
        items[at], items[other] = items[other], items[at]
