"""A valid frame header for the wire tests and the wire fuzz target, with fields changed."""

from __future__ import annotations

import dataclasses

from pipeline.wire import PROTOCOL_VERSION, FrameHeader


def make_header(**changes: object) -> FrameHeader:
    """A well-formed left-view header of rig ``rig0``; ``changes`` replace fields."""
    values = dict(
        version=PROTOCOL_VERSION,
        rig_id="rig0",
        side="left",
        seq=7,
        capture_ns=1_700_000_000_000_000_000,
        send_ns=1_700_000_000_001_000_000,
        model_id="dsin-q4",
        quality=4,
        height=48,
        width=64,
        channels=3,
    )
    values.update(changes)
    return FrameHeader(**values)


def header_map(**changes: object) -> dict:
    """:func:`make_header` as the map a message carries; ``changes`` replace (or add) keys."""
    values = dataclasses.asdict(make_header())
    values.update(changes)
    return values
