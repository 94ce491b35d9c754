"""The fuzz targets, bounded: a fixed set of examples per target on every test run (about 30 s
on two cores; ``python -m tests.fuzz.run`` runs them long, ``docs/fuzzing.md``)."""

from __future__ import annotations

from hypothesis import given

from tests.fuzz import config, container, decode, wire
from tests.fuzz.target import bounded


@bounded(max_examples=2500)
@given(wire.messages())
def test_wire_messages_parse_or_raise_protocol_error(parts):
    wire.check(parts)


@bounded(max_examples=3000)
@given(container.containers())
def test_containers_parse_or_raise_bitstream_error(data):
    container.check(data)


@bounded(max_examples=1000)
@given(decode.requests())
def test_mutated_containers_decode_or_raise_bitstream_error(batch):
    decode.check(batch)


@bounded(max_examples=2000)
@given(config.documents())
def test_config_files_load_or_raise_config_error(document):
    config.check(document)
