"""Run every configured sink on each decoded item; a failing sink is counted, never fatal."""

from __future__ import annotations

import logging
import time

import zmq
from prometheus_client import CollectorRegistry, Counter, Histogram

from decoder_node.frames import DecodedItem
from decoder_node.metrics import LATENCY_BUCKETS, SIDES, metric_name, zero_series
from decoder_node.sinks.base import Sink
from decoder_node.sinks.retention import files_deleted_counter

log = logging.getLogger(__name__)


class SinkMetrics:
    """Sink and end-to-end metrics, created in the daemon's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.write_seconds = Histogram(
            metric_name("sink_write_seconds"),
            "Time one sink took to write one decoded item.",
            ("sink",),
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.errors = Counter(
            metric_name("sink_errors_total"),
            "Sink writes that failed (the item is still counted as decoded).",
            ("sink",),
            registry=registry,
        )
        self.end_to_end = Histogram(
            metric_name("end_to_end_latency_seconds"),
            "Capture (camera clock) to output (decoder clock), per decoded view.",
            ("side",),
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        zero_series((self.end_to_end,), SIDES)
        self.files_deleted = files_deleted_counter(registry)


class SinkSet:
    """The daemon's sinks in configured order; timing recorders run last."""

    def __init__(self, sinks: list[Sink], registry: CollectorRegistry) -> None:
        self._outputs = [s for s in sinks if not s.wants_output_time]
        self._recorders = [s for s in sinks if s.wants_output_time]
        self._metrics = SinkMetrics(registry)
        for sink in sinks:
            self._metrics.errors.labels(sink.name)
            self._metrics.write_seconds.labels(sink.name)

    def open(self) -> None:
        """Open every sink (raises if one cannot: a bad bind or folder is a startup error)."""
        for sink in self._outputs + self._recorders:
            sink.attach_metrics(self._metrics)
            sink.open()

    def write(self, decoded: DecodedItem) -> None:
        """Write to the output sinks, stamp the output time, then run the recorders."""
        start = time.monotonic()
        for sink in self._outputs:
            self._write_one(sink, decoded)
        decoded.timings["sink"] = time.monotonic() - start
        decoded.output_ns = time.time_ns()
        for frame in decoded.item.frames:
            latency = (decoded.output_ns - frame.capture_ns) / 1e9
            self._metrics.end_to_end.labels(frame.side).observe(max(0.0, latency))
        for sink in self._recorders:
            self._write_one(sink, decoded)

    def close(self) -> None:
        """Close every sink, logging (not raising) failures so the others still close."""
        for sink in self._outputs + self._recorders:
            try:
                sink.close()
            except (OSError, zmq.ZMQError):
                log.exception("closing sink %s failed", sink.name)

    def _write_one(self, sink: Sink, decoded: DecodedItem) -> None:
        start = time.monotonic()
        try:
            sink.write(decoded)
        except Exception:  # a failing sink must not stop decoding; counted and logged
            self._metrics.errors.labels(sink.name).inc()
            log.exception(
                "sink %s failed on %s seq %d", sink.name, decoded.item.rig, decoded.item.seq
            )
        self._metrics.write_seconds.labels(sink.name).observe(time.monotonic() - start)
