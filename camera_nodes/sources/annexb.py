"""Annex B byte streams (H.264, HEVC): which NAL units a packet holds, up to its first slice.

A keyframe a decoder can join at carries the parameter sets before its first slice (SPS and
PPS for H.264; VPS, SPS and PPS for HEVC). :func:`has_parameter_sets` checks that without
decoding anything, and :func:`parameter_sets` takes them out of one to put in front of a
keyframe that lacks them; :func:`is_annexb` tells an Annex B byte string from a length-prefixed
(AVCC/HVCC, MP4 and MKV) one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

START_CODE = re.compile(b"\x00\x00\x01")


@dataclass(frozen=True)
class NalSyntax:
    """Where a codec's NAL unit header keeps the unit type, which types are coded slices, and
    which parameter sets a keyframe needs before its slices (ITU-T H.264 7.3.1, H.265 7.3.1.2)."""

    type_shift: int
    type_mask: int
    slices: range
    parameter_sets: frozenset[int]

    def unit_type(self, header: int) -> int:
        """The NAL unit type in the first header byte of a unit."""
        return (header >> self.type_shift) & self.type_mask


NAL_SYNTAX: dict[str, NalSyntax] = {
    "h264": NalSyntax(0, 0x1F, range(1, 6), frozenset((7, 8))),  # slices 1-5; SPS, PPS
    "hevc": NalSyntax(1, 0x3F, range(0, 32), frozenset((32, 33, 34))),  # VCL 0-31; VPS, SPS, PPS
}
"""The NAL syntax of each codec whose packets are Annex B byte streams."""


def leading_units(codec: str, data: bytes) -> list[tuple[int, bytes]]:
    """The NAL units of an Annex B ``data`` up to and with its first slice: (type, bytes
    without start code or trailing zeros), in order."""
    syntax = NAL_SYNTAX[codec]
    starts = [m.end() for m in START_CODE.finditer(data)]
    ends = [start - len(b"\x00\x00\x01") for start in starts[1:]] + [len(data)]
    units = []
    for begin, end in zip(starts, ends, strict=False):
        if begin >= len(data):
            break
        units.append((syntax.unit_type(data[begin]), data[begin:end].rstrip(b"\x00")))
        if units[-1][0] in syntax.slices:
            break
    return units


def nal_types(codec: str, data: bytes) -> list[int]:
    """The NAL unit types of an Annex B ``data``, in order, up to and with its first slice."""
    return [kind for kind, _ in leading_units(codec, data)]


def has_parameter_sets(codec: str, data: bytes) -> bool:
    """True if every parameter set ``codec`` needs comes before the first slice of ``data``."""
    return NAL_SYNTAX[codec].parameter_sets <= set(nal_types(codec, data))


def parameter_sets(codec: str, data: bytes) -> bytes:
    """The parameter sets before the first slice of ``data``, each after a 4-byte start code."""
    wanted = NAL_SYNTAX[codec].parameter_sets
    units = leading_units(codec, data)
    return b"".join(b"\x00\x00\x00\x01" + unit for kind, unit in units if kind in wanted)


def is_annexb(data: bytes) -> bool:
    """True if ``data`` starts with a start code (``00 00 01`` or ``00 00 00 01``)."""
    return data.startswith(b"\x00\x00\x01") or data.startswith(b"\x00\x00\x00\x01")
