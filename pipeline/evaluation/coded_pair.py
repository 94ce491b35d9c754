"""One stereo pair coded and decoded for the evaluation, whatever codec made its bitstreams.

:func:`code_pair` times the left view's encode, encodes the right view, and decodes the left
view twice with the daemon's decoder (one ``decode_batch``): alone and with the right view as
side information. :mod:`pipeline.evaluation.ours` and :mod:`pipeline.evaluation.standard_si`
give it their encoders; :mod:`pipeline.evaluation.runner` turns the result into rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class CodedPair:
    """One pair coded at one quality: both bitstreams, the bytes the left-alone row counts,
    the left view decoded alone and with side information, and the seconds taken."""

    left_bits: bytes
    right_bits: bytes
    alone_bytes: int
    left_alone: np.ndarray
    left_si: np.ndarray
    encode_seconds: float
    decode_seconds: float


def code_pair(
    decoder,
    left: np.ndarray,
    encode_left: Callable[[], bytes],
    encode_right: Callable[[], bytes],
    alone_bytes: Callable[[bytes], int] = len,
) -> CodedPair:
    """Encode both views (only the left one timed), decode the pair with ``decoder``;
    ``alone_bytes``: what the left view alone costs, from its bitstream (default: all of it)."""
    start = time.perf_counter()
    left_bits = encode_left()
    encode_seconds = time.perf_counter() - start
    right_bits = encode_right()
    left_alone, left_si, decode_seconds = decode_left(decoder, left_bits, right_bits, left)
    return CodedPair(
        left_bits,
        right_bits,
        alone_bytes(left_bits),
        left_alone,
        left_si,
        encode_seconds,
        decode_seconds,
    )


def decode_left(
    decoder, left_bits: bytes, right_bits: bytes, original: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """Decode one pair: the left view alone and with side information (in the original's
    layout), and the seconds the decoder took."""
    from pipeline.codec import DecodeRequest

    start = time.perf_counter()
    batch = decoder.decode_batch([DecodeRequest(primary=left_bits, side=right_bits)])
    seconds = time.perf_counter() - start
    pair = batch.pairs[0]
    if pair.left is None or pair.left_alone is None:
        raise RuntimeError("decoder returned no left view for a pair with both bitstreams")
    return match_channels(pair.left_alone, original), match_channels(pair.left, original), seconds


def match_channels(decoded: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Return ``decoded`` with the reference's layout: RGB kept, grey as (H, W).

    A decoder that returns grey as three equal channels is accepted (its luma is used); any
    other mismatch of size or channels is an error, never silently scored.
    """
    if decoded.ndim == 3 and decoded.shape[2] == 1:
        decoded = decoded[:, :, 0]
    if reference.ndim == 2 and decoded.ndim == 3:
        decoded = cv2.cvtColor(np.ascontiguousarray(decoded), cv2.COLOR_RGB2GRAY)
    if decoded.shape != reference.shape or decoded.dtype != np.uint8:
        raise ValueError(
            f"decoded image {decoded.shape} {decoded.dtype} does not match the original "
            f"{reference.shape} uint8"
        )
    return decoded
