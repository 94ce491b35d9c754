"""The pairer's metrics (``docs/metrics.md``, "Decoder node"): pairs, forced pairs, frames
released alone, skew, waits, clock steps and waiting frames, each rig's series created at zero
from its first frame and removed when its slot is released."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from decoder_node.metrics import (
    FORCED_REASONS,
    LATENCY_BUCKETS,
    SIDES,
    SKEW_BUCKETS,
    UNPAIRED_REASONS,
    RigSeries,
    metric_name,
    publish_setting,
    zero_series,
)


class PairingMetrics:
    """The pairer's metrics, created in the daemon's registry; the rig-labelled ones tracked in
    ``rigs`` (a rig's series exist while it holds a slot); ``slop_ms`` exported for alerts."""

    def __init__(self, registry: CollectorRegistry, rigs: RigSeries, slop_ms: float) -> None:
        self.pairs = Counter(
            metric_name("pairs_total"), "Left/right pairs formed.", ("rig",), registry=registry
        )
        self.forced = Counter(
            metric_name("pairs_forced_total"),
            "Pairs decided with the frames at hand, before the rule could be sure: at max_age_ms"
            " (reason partner_timeout) or at the shutdown drain (reason shutdown).",
            ("rig", "reason"),
            registry=registry,
        )
        self.unpaired = Counter(
            metric_name("unpaired_frames_total"),
            "Frames released without a partner (decoded alone), by reason.",
            ("rig", "side", "reason"),
            registry=registry,
        )
        self.skew = Histogram(
            metric_name("pairing_skew_seconds"),
            "Absolute capture-time difference between the two views of a pair.",
            ("rig",),
            buckets=SKEW_BUCKETS,
            registry=registry,
        )
        self.wait = Histogram(
            metric_name("pairing_wait_seconds"),
            "Time a frame waited in the pairer, from arrival to release.",
            ("side",),
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.clock_steps = Counter(
            metric_name("clock_steps_back_total"),
            "Frames captured more than slop_ms before their camera's newest (its clock stepped "
            "back), timestamp mode.",
            ("rig", "side"),
            registry=registry,
        )
        self.unmatched = Gauge(
            metric_name("unmatched_frames"),
            "Frames waiting for their partner.",
            ("rig", "side"),
            registry=registry,
        )
        publish_setting(
            registry,
            "pairing_slop_seconds",
            "Largest capture-time difference of a pair ([pairing] slop_ms), in seconds.",
            slop_ms / 1000.0,
        )
        zero_series((self.wait,), SIDES)
        rigs.track(self.pairs)
        rigs.track(self.skew)
        rigs.track(self.forced, FORCED_REASONS)
        rigs.track(self.clock_steps, SIDES)
        rigs.track(self.unmatched, SIDES)
        rigs.track(self.unpaired, SIDES, UNPAIRED_REASONS)
