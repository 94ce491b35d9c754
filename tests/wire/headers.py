"""A valid frame header for the wire tests and the wire fuzz target, with fields changed."""

from __future__ import annotations

import dataclasses

from pipeline.wire import PROTOCOL_VERSION, STREAM_PROTOCOL_VERSION, FrameHeader, StreamInfo


def make_header(**changes: object) -> FrameHeader:
    """A well-formed version 1 left-view header of rig ``rig0``; ``changes`` replace fields."""
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


def make_stream_header(**changes: object) -> FrameHeader:
    """A well-formed version 2 header: :func:`make_header` with the ``stream`` of an H.264
    keyframe; ``changes`` replace fields."""
    stream = StreamInfo(codec="h264", id=0x1234_5678_9ABC_DEF0, packet=30, keyframe=True)
    values: dict[str, object] = dict(
        version=STREAM_PROTOCOL_VERSION, model_id="h264-si1", quality=28, stream=stream
    )
    values.update(changes)
    return make_header(**values)


def as_map(header: FrameHeader) -> dict:
    """The map a message carries for ``header`` (no ``stream`` key in version 1)."""
    values = dataclasses.asdict(header)
    if header.stream is None:
        del values["stream"]
    return values


def header_map(**changes: object) -> dict:
    """:func:`make_header` as the map a message carries; ``changes`` replace (or add) keys."""
    return {**as_map(make_header()), **changes}


def stream_header_map(**changes: object) -> dict:
    """:func:`make_stream_header` as the map a message carries; ``changes`` replace (or add)
    keys."""
    return {**as_map(make_stream_header()), **changes}
