"""Find Debian's ``promtool`` and ``prometheus`` for the tests that run them.

Without them a test skips with the reason, unless ``STEREO_REQUIRE_PROMETHEUS=1`` (set by
``.ci/run``): then it fails, so CI cannot pass without having run them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = REPO / "deploy" / "prometheus"
REQUIRE_ENV = "STEREO_REQUIRE_PROMETHEUS"


def require_tool(name: str) -> str:
    """The path of ``name`` on PATH; skips (or fails under ``STEREO_REQUIRE_PROMETHEUS=1``)."""
    path = shutil.which(name)
    if path is not None:
        return path
    reason = f"{name} is not installed (Debian: apt-get install prometheus)"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_ENV}=1 requires it")
    pytest.skip(reason)
