"""Metric conventions shared by the daemon's parts (``docs/metrics.md``, "Decoder node").

Each part creates its own metric objects, in the registry it is given, where it produces the
values; only what several parts write is created here: the frame-drop counter, the build info,
and the registry of rig-labelled series (:class:`RigSeries`: created with a rig's slot, removed
with it).
Every daemon instance has its own :class:`CollectorRegistry`, so tests can run several.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.metrics import MetricWrapperBase

PREFIX = "stereo_decoder"

M = TypeVar("M", bound=MetricWrapperBase)

SIDES = ("left", "right")
DROP_REASONS = (
    "bad_bitstream",
    "header_mismatch",
    "model_mismatch",
    "decode_error",
    "duplicate",
    "backlog_full",
    "shutdown",
    "stream_gap",
    "waiting_keyframe",
    "corrupt_packet",
)
"""Every ``reason`` of ``frames_dropped_total`` (``docs/metrics.md``); the last three are a video
stream's (``decoder_node.streams``)."""
FORCED_REASONS = ("partner_timeout", "shutdown")
"""Every ``reason`` of ``pairs_forced_total``."""
UNPAIRED_REASONS = (
    "partner_timeout",
    "no_partner",
    "partner_expired",
    "queue_full",
    "shutdown",
    "rig_idle",
)
"""Every ``reason`` of ``unpaired_frames_total``."""

LATENCY_BUCKETS = (
    *(ms / 1000 for ms in (1, 2, 5, 10, 20, 35, 50, 75, 100, 150, 200, 300, 500, 750)),
    *(1.0, 1.5, 2.0, 3.0, 5.0, 10.0),
)
"""Histogram buckets for frame latencies in seconds: 1 ms to 10 s, as ``docs/metrics.md`` lists
them."""

SKEW_BUCKETS = (0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0)
"""Histogram buckets for the capture-time difference of a pair."""

BPP_BUCKETS = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 8.0)
"""Histogram buckets for coded bits per pixel."""

BATCH_SIZE_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64)
"""Histogram buckets for pairs per decode batch."""


def metric_name(suffix: str) -> str:
    """The full metric name for ``suffix`` (``frames_dropped_total`` -> with the prefix)."""
    return f"{PREFIX}_{suffix}"


def zero_series(metrics: Sequence[MetricWrapperBase], *label_values: Sequence[str]) -> None:
    """Create, at zero, the series of every combination of ``label_values`` (one sequence per
    label, in the metrics' label order) in each of ``metrics``: a rate or a ratio then exists
    before the first event."""
    for values in itertools.product(*label_values):
        for metric in metrics:
            metric.labels(*values)


class RigSeries:
    """Every decoder metric whose first label is ``rig``, and the rigs that hold a slot.

    Each part registers its rig-labelled metrics once (:meth:`track`). When a rig gets a slot
    (:meth:`add`) its series of every tracked metric are created at zero; when its slot is
    released (:meth:`release`) they are all removed, so the series stay bounded by
    ``max_rigs`` however many rig ids come and go (``docs/metrics.md``). A count made outside
    the receive loop (a decode worker, the batcher) takes its series from :meth:`labels`, which
    gives None for a rig without a slot: a frame of a released rig still in flight then counts
    nowhere instead of bringing one of its series back. A part that keeps other state per rig
    frees it when the slot goes (:meth:`on_release`). Thread-safe.
    """

    def __init__(self) -> None:
        self._metrics: list[tuple[MetricWrapperBase, tuple[Sequence[str], ...]]] = []
        self._held: set[str] = set()
        self._retired: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self._released: list[Callable[[str], None]] = []
        self._lock = threading.Lock()

    def on_release(self, forget: Callable[[str], None]) -> None:
        """Call ``forget(rig)`` whenever a rig's slot is released (after its series went)."""
        with self._lock:
            self._released.append(forget)

    def track(self, metric: MetricWrapperBase, *label_values: Sequence[str]) -> None:
        """Track ``metric``, whose labels are ``rig`` and then one label for each sequence of
        ``label_values``, which lists every value that label takes."""
        with self._lock:
            self._metrics.append((metric, label_values))
            for rig in self._held:
                zero_series((metric,), (rig,), *label_values)

    def add(self, rig: str) -> None:
        """``rig`` got a slot: create its series at zero."""
        with self._lock:
            self._held.add(rig)
            for metric, values in self._metrics:
                zero_series((metric,), (rig,), *values)

    def release(self, rig: str) -> None:
        """``rig``'s slot was released: remove every series of it, keeping its counts in the
        process-wide totals of :meth:`retired` (one entry per label set without ``rig``)."""
        with self._lock:
            self._held.discard(rig)
            for metric, values in self._metrics:
                self._retire(metric, rig)
                for labels in itertools.product((rig,), *values):
                    metric.remove(*labels)
            released = list(self._released)
        for forget in released:
            forget(rig)

    def retired(self) -> list[tuple[str, dict[str, str], float]]:
        """(sample name, labels but ``rig``, value) summed over every released rig: what the
        daemon's stop line adds to the series still exported (:func:`final_counts`)."""
        with self._lock:
            return [(name, dict(labels), value) for (name, labels), value in self._retired.items()]

    def _retire(self, metric: MetricWrapperBase, rig: str) -> None:
        for family in metric.collect():
            for sample in family.samples:
                if sample.labels.get("rig") == rig and sample.name.endswith("_total"):
                    rest = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "rig"))
                    key = (sample.name, rest)
                    self._retired[key] = self._retired.get(key, 0.0) + sample.value

    def labels(self, metric: M, rig: str, *values: str) -> M | None:
        """``metric``'s child for ``rig`` and ``values``, or None if ``rig`` holds no slot."""
        with self._lock:
            return metric.labels(rig, *values) if rig in self._held else None


class FrameDrops:
    """``stereo_decoder_frames_dropped_total{rig, side, reason}``: frames that will not be decoded.

    Shared by the receiver, the pairer, the batcher and the decode workers; every drop of a
    frame with a known rig and side goes through :meth:`drop`. It also carries the daemon's
    :class:`RigSeries` (:attr:`rigs`), where every part tracks its rig-labelled metrics.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self._counter = Counter(
            metric_name("frames_dropped_total"),
            "Frames that were received but will not be decoded, by reason.",
            ("rig", "side", "reason"),
            registry=registry,
        )
        self.rigs = RigSeries()
        self.rigs.track(self._counter, SIDES, DROP_REASONS)

    def drop(self, rig: str, side: str, reason: str, count: int = 1) -> None:
        """Count ``count`` dropped frames of ``rig``/``side`` for ``reason`` (none for a rig
        whose slot was released while the frame was in flight)."""
        child = self.rigs.labels(self._counter, rig, side, reason)
        if child is not None:
            child.inc(count)


def publish_setting(registry: CollectorRegistry, suffix: str, doc: str, value: float) -> None:
    """Export a configured size as a gauge (``backlog_capacity`` ...), so that alerts compare
    with the decoder's own configuration rather than with a default (``docs/metrics.md``)."""
    Gauge(metric_name(suffix), doc, registry=registry).set(value)


def publish_build_info(
    registry: CollectorRegistry, version: str, device: str, model_id: str
) -> None:
    """Set ``stereo_decoder_build_info{version, device, model_id} 1``."""
    gauge = Gauge(
        metric_name("build_info"),
        "Build and runtime information; always 1.",
        ("version", "device", "model_id"),
        registry=registry,
    )
    gauge.labels(version, device, model_id).set(1)


def publish_entropy_check(registry: CollectorRegistry, checked: bool) -> None:
    """Set ``stereo_decoder_entropy_bounds_checked`` to 1 when entropy decoding checks its reads
    (numba), 0 when it is CompressAI's unchecked decoder (``STEREO_ALLOW_UNCHECKED_RANS=1``)."""
    Gauge(
        metric_name("entropy_bounds_checked"),
        "1 when entropy decoding checks every read (numba), 0 when it is CompressAI's unchecked.",
        registry=registry,
    ).set(int(checked))


def publish_weights(registry: CollectorRegistry, decoder: object) -> list[tuple[str, str]]:
    """Set ``stereo_decoder_weights_installed{weights, weights_hash} 1`` for every weights set
    ``decoder`` serves (``docs/weights.md``) and return them as (name, hash); none for a decoder
    without a :class:`~pipeline.codec.decode.model_set.ModelSet` (a test's stand-in)."""
    models = getattr(decoder, "models", None)
    held = list(models.held()) if models is not None else []
    gauge = Gauge(
        metric_name("weights_installed"),
        "Weights sets this decoder serves (model id or SI-Net, hash); always 1.",
        ("weights", "weights_hash"),
        registry=registry,
    )
    for name, digest in held:
        gauge.labels(name, digest).set(1)
    return held


def final_counts(registry: CollectorRegistry, rigs: RigSeries | None = None) -> dict[str, int]:
    """Frames received, decoded and dropped (by reason) and messages refused (by reason),
    summed over rigs, those ``rigs`` released included: what the daemon logs as it stops
    (``docs/metrics.md``)."""
    counts = {"received": 0, "decoded": 0}
    names = {
        metric_name("frames_received_total"): "received",
        metric_name("frames_decoded_total"): "decoded",
    }
    prefixed = {
        metric_name("frames_dropped_total"): "dropped_",
        metric_name("malformed_messages_total"): "refused_",
    }
    exported = [(s.name, s.labels, s.value) for f in registry.collect() for s in f.samples]
    retired = rigs.retired() if rigs is not None else []
    for name, labels, value in exported + retired:
        if name in names:
            counts[names[name]] += int(value)
        elif name in prefixed:
            key = prefixed[name] + labels["reason"]
            counts[key] = counts.get(key, 0) + int(value)
    return counts
