"""The long runs' memory cap turns an allocation bomb into a failure (``docs/fuzzing.md``)."""

from __future__ import annotations

import subprocess
import sys

BOMB = """
from tests.fuzz.loop import cap_memory
cap_memory(256)
try:
    bytearray(1 << 30)  # 1 GiB, past the 256 MiB of headroom
except MemoryError:
    print("MemoryError")
else:
    print("allocated")
"""


def test_an_allocation_past_the_cap_fails_in_the_child():
    done = subprocess.run(
        [sys.executable, "-c", BOMB], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "MemoryError", done.stdout + done.stderr
