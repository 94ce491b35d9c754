"""One small HTTP server for ``GET /metrics`` (Prometheus text) and ``GET /healthz`` (JSON).

``/healthz`` answers 200 when the daemon is ``ok`` and 503 otherwise (``starting``,
``draining``, ``stalled``, ``failed``), so it serves as a Kubernetes readiness and liveness probe.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

log = logging.getLogger(__name__)

HealthFn = Callable[[], dict[str, Any]]
"""Returns the health document; its ``status`` key is ``ok`` when healthy."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._reply(200, CONTENT_TYPE_LATEST, generate_latest(self.server.registry))
        elif path in ("/healthz", "/health"):
            doc = self.server.health()
            code = 200 if doc.get("status") == "ok" else 503
            self._reply(code, "application/json", json.dumps(doc).encode())
        else:
            self._reply(404, "text/plain; charset=utf-8", b"not found: try /metrics or /healthz\n")

    def _reply(self, code: int, content_type: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http: " + format, *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], registry: CollectorRegistry, health: HealthFn):
        self.registry = registry
        self.health = health
        super().__init__(address, _Handler)


class HttpServer:
    """Serve ``/metrics`` and ``/healthz`` from a background thread."""

    def __init__(self, host: str, port: int, registry: CollectorRegistry, health: HealthFn):
        self._server = _Server((host, port), registry, health)
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
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5.0)
