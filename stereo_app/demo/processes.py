"""Start the pipeline's processes, scrape their /metrics, and stop them with signals."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from prometheus_client.parser import text_string_to_metric_families


@dataclass
class Child:
    """One ``stereo-pipeline`` sub-process with its log file."""

    name: str
    proc: subprocess.Popen
    log: IO[bytes]
    exit_code: int | None = field(default=None)

    def poll(self) -> int | None:
        """The exit code once it has exited."""
        if self.exit_code is None:
            self.exit_code = self.proc.poll()
        return self.exit_code


def spawn(name: str, args: list[str], log_dir: Path, env: dict[str, str] | None = None) -> Child:
    """Run ``python -m stereo_app.cli ARGS`` with output to ``<log_dir>/<name>.log``.

    ``env`` entries are added to this process's environment.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    log = (log_dir / f"{name}.log").open("wb")
    cmd = [sys.executable, "-m", "stereo_app.cli", *args]
    proc = subprocess.Popen(
        cmd,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    return Child(name, proc, log)


def stop(child: Child, timeout: float, sig: int | None = signal.SIGTERM) -> int | None:
    """Send ``sig`` (None: send nothing, it was signalled already) and wait up to ``timeout``;
    kill it if it is still there. Its exit code."""
    if child.poll() is None:
        if sig is not None:
            child.proc.send_signal(sig)
        try:
            child.exit_code = child.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            child.proc.kill()
            child.proc.wait(10)
            child.exit_code = None
    child.log.close()
    return child.exit_code


_STOP_LINE = re.compile(r" stopped: ((?:\w+=\d+ ?)+)$", re.M)


def camera_counts(child: Child) -> dict[str, int] | None:
    """The frame counts a camera node logged as it stopped (``docs/metrics.md``), or None.

    Exact for the whole run, unlike a last scrape of its ``/metrics`` taken before the exit.
    """
    if child.poll() is None:
        return None
    text = Path(child.log.name).read_text(encoding="utf-8", errors="replace")
    found = _STOP_LINE.findall(text)
    if not found:
        return None
    return {key: int(value) for key, value in (kv.split("=") for kv in found[-1].split())}


def http_get(port: int, path: str, timeout: float = 2.0) -> tuple[int, str] | None:
    """``(status, body)`` of a GET on 127.0.0.1, or None when nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except (OSError, ValueError):
        return None


def health(port: int) -> dict | None:
    """The decoder's /healthz document, or None."""
    reply = http_get(port, "/healthz")
    return json.loads(reply[1]) if reply else None


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
"""Metric samples keyed by (sample name, sorted label pairs)."""


def scrape(port: int) -> Samples | None:
    """Every sample of a /metrics page, or None when nothing answers."""
    reply = http_get(port, "/metrics")
    if reply is None or reply[0] != 200:
        return None
    samples: Samples = {}
    for family in text_string_to_metric_families(reply[1]):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def total(samples: Samples | None, name: str, **labels: str) -> float:
    """Sum of the samples called ``name`` whose labels include ``labels``."""
    if not samples:
        return 0.0
    want = set(labels.items())
    return sum(v for (n, lab), v in samples.items() if n == name and want <= set(lab))


def by_label(samples: Samples | None, name: str, label: str) -> dict[str, float]:
    """``name`` summed per value of ``label``."""
    out: dict[str, float] = {}
    for (n, lab), v in (samples or {}).items():
        if n == name:
            key = dict(lab).get(label, "")
            out[key] = out.get(key, 0.0) + v
    return out


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
