"""The fuzz targets, bounded: a fixed set of examples per target on every test run (about 30 s
on two cores; ``python -m tests.fuzz.run`` runs them long, ``docs/fuzzing.md``)."""

from __future__ import annotations

import pytest
from hypothesis import given

from tests.fuzz import config, container, decode, receive, request, video, wire
from tests.fuzz.target import Target, bounded

EXAMPLES = [
    (wire.TARGET, 2500),
    (request.TARGET, 1500),
    (container.TARGET, 3000),
    (decode.TARGET, 1000),
    (config.TARGET, 2000),
    (video.TARGET, 1000),
    (receive.TARGET, 150),
]


@pytest.mark.parametrize(("target", "examples"), EXAMPLES, ids=[t.name for t, _ in EXAMPLES])
def test_inputs_parse_or_raise_the_parsers_documented_error(target: Target, examples: int):
    """Wire messages and keyframe requests (``ProtocolError``), containers and mutated decode
    batches (``BitstreamError``), config files (``ConfigError``), video streams
    (``CorruptBitstreamError``): each parses or raises its error; video messages at the
    receiver: never an exception, every frame counted."""
    bounded(examples)(given(target.inputs())(target.check))()
