"""The shared /metrics and /healthz server (pipeline/monitoring.py) on a real socket."""

from __future__ import annotations

import gzip
import json
import socket
import urllib.error
import urllib.request

import pytest
from prometheus_client import CollectorRegistry, Counter

from pipeline.monitoring import MonitoringServer, process_registry


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


@pytest.fixture
def served():
    registry = process_registry()
    Counter("demo_things_total", "Things.", registry=registry).inc(3)
    state = {"status": "starting", "frames": 0}
    server = MonitoringServer("127.0.0.1", 0, registry, lambda: dict(state))
    server.start()
    yield server, state
    server.stop()


def test_metrics_are_the_registry_with_process_metrics(served) -> None:
    server, _ = served
    status, headers, body = get(server.port, "/metrics")
    text = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "demo_things_total 3.0" in text
    for name in ("process_resident_memory_bytes", "process_cpu_seconds_total", "python_info"):
        assert f"# TYPE {name} " in text, name
    status, headers, body = get(server.port, "/metrics", {"Accept-Encoding": "gzip"})
    assert headers.get("Content-Encoding") == "gzip" and b"demo_things_total" in gzip.decompress(
        body
    )


def test_healthz_answers_200_only_when_ok(served) -> None:
    server, state = served
    status, headers, body = get(server.port, "/healthz")
    assert status == 503 and headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"status": "starting", "frames": 0}
    state.update(status="ok", frames=5)
    status, _, body = get(server.port, "/health")
    assert status == 200 and json.loads(body)["frames"] == 5
    assert get(server.port, "/nope")[0] == 404


def test_without_a_health_document_healthz_is_not_found() -> None:
    server = MonitoringServer("127.0.0.1", 0, CollectorRegistry())
    server.start()
    try:
        assert get(server.port, "/healthz")[0] == 404
        assert get(server.port, "/metrics")[0] == 200
    finally:
        server.stop()


def test_a_port_in_use_raises_before_serving() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            MonitoringServer("127.0.0.1", taken.getsockname()[1], CollectorRegistry())


def test_stop_frees_the_port() -> None:
    server = MonitoringServer("127.0.0.1", 0, CollectorRegistry())
    server.start()
    port = server.port
    server.stop()
    again = MonitoringServer("127.0.0.1", port, CollectorRegistry())
    again.stop()
