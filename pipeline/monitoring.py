"""The metrics and health HTTP server that camera nodes and the decoder daemon share.

``GET /metrics`` is prometheus_client's own WSGI exposition of one registry (text format, gzip
when asked); ``GET /healthz`` (or ``/health``) is a JSON document whose ``status`` is ``ok``
when all is well: 200 then, 503 otherwise (``starting``, ``stalled``, ``draining``, ...), so
it serves as a Kubernetes readiness probe and a Docker ``HEALTHCHECK``. Both are served from
one daemon thread by prometheus_client's threading WSGI server (``docs/metrics.md``).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import (
    CollectorRegistry,
    PlatformCollector,
    ProcessCollector,
    make_wsgi_app,
)
from prometheus_client.exposition import ThreadingWSGIServer

HealthFn = Callable[[], dict[str, Any]]
"""Returns the health document; its ``status`` key is ``ok`` when healthy."""

StartResponse = Callable[[str, list[tuple[str, str]]], Any]

HEALTH_PATHS = ("/healthz", "/health")


def process_registry() -> CollectorRegistry:
    """A new registry holding ``process_*`` (CPU seconds, resident memory, open fds, start
    time) and ``python_info``, as the default registry does: each process's own registry starts
    from it."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry


def monitoring_app(registry: CollectorRegistry, health: HealthFn | None) -> Callable:
    """The WSGI application: ``/metrics`` from ``registry``, ``/healthz`` from ``health``."""
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path == "/metrics":
            return metrics(environ, start_response)
        if path in HEALTH_PATHS and health is not None:
            doc = health()
            status = "200 OK" if doc.get("status") == "ok" else "503 Service Unavailable"
            return _reply(start_response, status, "application/json", json.dumps(doc).encode())
        body = b"not found: try /metrics or /healthz\n"
        return _reply(start_response, "404 Not Found", "text/plain; charset=utf-8", body)

    return app


def _reply(start: StartResponse, status: str, content_type: str, body: bytes) -> list[bytes]:
    start(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr: Prometheus scrapes every few seconds."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


class MonitoringServer:
    """Serve ``/metrics`` and ``/healthz`` on ``host:port`` from a daemon thread.

    ``port`` 0 picks a free port (read it back from :attr:`port`). The socket is bound in the
    constructor, so a port in use raises ``OSError`` there, before anything else starts.
    """

    def __init__(
        self, host: str, port: int, registry: CollectorRegistry, health: HealthFn | None = None
    ) -> None:
        server_class = type("Server", (ThreadingWSGIServer,), {"address_family": _family(host)})
        self._server = make_server(
            host, port, monitoring_app(registry, health), server_class, _QuietHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="http",
            daemon=True,
        )

    @property
    def port(self) -> int:
        """The port actually bound (useful when the configured port is 0)."""
        return self._server.server_address[1]

    def start(self) -> None:
        """Start serving."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(5.0)
        self._server.server_close()


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET
