"""A committed bitstream decodes to its committed digests (format and decoder stability)."""

from __future__ import annotations

import json

from tests.golden.regenerate import EXPECTED, GOLDEN, digests


def test_golden_bitstream_decodes_to_expected_hash(exact_decoder):
    expected = json.loads(EXPECTED.read_text())
    got = digests(GOLDEN.read_bytes(), exact_decoder)
    assert got == expected, (
        "golden bitstream changed: if the shipped weights changed on purpose, run "
        "`.venv/bin/python -m tests.golden.regenerate` and commit the result"
    )
