"""Debian's ``promtool`` and ``prometheus`` for the tests that run them.

Without them a test skips with the reason, unless ``STEREO_REQUIRE_PROMETHEUS=1`` (set by
``.ci/run``): then it fails, so CI cannot pass without having run them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

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


class PrometheusServer:
    """Debian's Prometheus server on 127.0.0.1:``port`` with ``config`` (YAML text), its data
    and log under ``folder``; queried through its HTTP API (``/api/v1/...``)."""

    def __init__(self, folder: Path, port: int, config: str) -> None:
        self.port = port
        (folder / "prometheus.yml").write_text(config)
        self._log = (folder / "prometheus.log").open("wb")
        self.proc = subprocess.Popen(
            [
                require_tool("prometheus"),
                f"--config.file={folder / 'prometheus.yml'}",
                f"--storage.tsdb.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self.log_path = folder / "prometheus.log"

    def get(self, path: str, **params: str) -> Any:
        """The ``data`` of a successful API reply (raises on an error reply)."""
        url = f"http://127.0.0.1:{self.port}{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=5) as reply:
            body = json.loads(reply.read())
        assert body["status"] == "success", body
        return body["data"]

    def ready(self) -> bool:
        """True once the server answers ``/-/ready``."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def query(self, expr: str) -> list[dict]:
        """The instant vector of ``expr`` now: ``[{"metric": {...}, "value": [t, "v"]}]``."""
        data = self.get("/api/v1/query", query=expr)
        assert data["resultType"] == "vector", data
        return data["result"]

    def alerts(self) -> list[dict]:
        """Alerts now pending or firing."""
        return self.get("/api/v1/alerts")["alerts"]

    def stop(self) -> None:
        """Terminate the server and close its log."""
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()
