"""Annex B byte streams (H.264, HEVC): which NAL units a packet holds, up to its first slice.

A keyframe a decoder can join at carries the parameter sets before its first slice (SPS and
PPS for H.264; VPS, SPS and PPS for HEVC). :func:`has_parameter_sets` checks that without
decoding anything, and :func:`parameter_sets` takes them out of one to put in front of a
keyframe that lacks them; :func:`is_annexb` tells an Annex B byte string from a length-prefixed
(AVCC/HVCC, MP4 and MKV) one.
"""

from __future__ import annotations

import re

START_CODE = re.compile(b"\x00\x00\x01")

PARAMETER_SETS: dict[str, frozenset[int]] = {
    "h264": frozenset((7, 8)),
    "hevc": frozenset((32, 33, 34)),
}
"""The NAL unit types a keyframe needs before its slices: SPS, PPS (H.264); VPS, SPS, PPS."""


def nal_type(codec: str, header: int) -> int:
    """The NAL unit type in the first header byte of a ``codec`` NAL unit."""
    return header & 0x1F if codec == "h264" else (header >> 1) & 0x3F


def is_slice(codec: str, kind: int) -> bool:
    """True for a coded slice (VCL NAL unit): H.264 types 1-5, HEVC types 0-31."""
    return 1 <= kind <= 5 if codec == "h264" else kind < 32


def leading_units(codec: str, data: bytes) -> list[tuple[int, bytes]]:
    """The NAL units of an Annex B ``data`` up to and with its first slice: (type, bytes
    without start code or trailing zeros), in order."""
    starts = [m.end() for m in START_CODE.finditer(data)]
    ends = [start - len(b"\x00\x00\x01") for start in starts[1:]] + [len(data)]
    units = []
    for begin, end in zip(starts, ends, strict=False):
        if begin >= len(data):
            break
        units.append((nal_type(codec, data[begin]), data[begin:end].rstrip(b"\x00")))
        if is_slice(codec, units[-1][0]):
            break
    return units


def nal_types(codec: str, data: bytes) -> list[int]:
    """The NAL unit types of an Annex B ``data``, in order, up to and with its first slice."""
    return [kind for kind, _ in leading_units(codec, data)]


def has_parameter_sets(codec: str, data: bytes) -> bool:
    """True if every parameter set ``codec`` needs comes before the first slice of ``data``."""
    return PARAMETER_SETS[codec] <= set(nal_types(codec, data))


def parameter_sets(codec: str, data: bytes) -> bytes:
    """The parameter sets before the first slice of ``data``, each after a 4-byte start code."""
    wanted = PARAMETER_SETS[codec]
    units = leading_units(codec, data)
    return b"".join(b"\x00\x00\x00\x01" + unit for kind, unit in units if kind in wanted)


def is_annexb(data: bytes) -> bool:
    """True if ``data`` starts with a start code (``00 00 01`` or ``00 00 00 01``)."""
    return data.startswith(b"\x00\x00\x01") or data.startswith(b"\x00\x00\x00\x01")
