"""Start dead daemon threads again, a bounded number of times.

Every loop of the daemon catches its own errors, so a thread dies only when a bug escapes one;
the watchdog (polled by :meth:`decoder_node.app.DecoderApp.run`) starts it again, counts it in
``stereo_decoder_thread_restarts_total{thread}``, and after ``max_thread_restarts`` in all
reports that the daemon should stop (exit 1: then it is the supervisor's turn).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter

from decoder_node.decode_workers import DecodeWorkers
from decoder_node.metrics import metric_name

log = logging.getLogger(__name__)

THREADS = ("receive", "entropy-decode", "model", "sink")
"""The ``thread`` label values of ``thread_restarts_total``."""


class Watchdog:
    """Restarts the decode workers' and the receive loop's dead threads, ``limit`` times."""

    def __init__(self, registry: CollectorRegistry, limit: int) -> None:
        self.limit = limit
        self.restarts = 0
        self.failure: str | None = None
        self._counter = Counter(
            metric_name("thread_restarts_total"),
            "Daemon threads that died and were started again, by thread.",
            ("thread",),
            registry=registry,
        )
        for thread in THREADS:
            self._counter.labels(thread)

    def revive(
        self,
        workers: DecodeWorkers,
        receive: threading.Thread | None,
        start_receiving: Callable[[], None],
    ) -> bool:
        """Start every dead thread again; False once the restarts are spent (``failure``)."""
        if self.restarts >= self.limit:
            self.failure = f"a thread died after {self.restarts} restarts"
            log.error("%s; stopping", self.failure)
            return False
        revived = workers.revive()
        if receive is not None and not receive.is_alive():
            log.error("thread receive died; starting it again")
            start_receiving()
            revived.append("receive")
        for name in revived:
            self._counter.labels(name).inc()
        self.restarts += len(revived)
        return True
