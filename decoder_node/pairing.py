"""Pair the left and right frames of each rig (``docs/pairing.md``).

``sequence`` mode pairs equal ``seq`` (hardware-triggered rigs, where both views of one trigger
carry the same index), as soon as the second view arrives.

``timestamp`` mode pairs *mutual nearest* capture times within ``slop_ms``: a frame and the
other side's frame nearest to it in capture time, if each is the other's nearest and they are at
most ``slop_ms`` apart, counting only frames not yet decided. Each camera's frames arrive in
capture order (one PUSH socket per camera), so a decision is final once the other side has
delivered a frame captured at or after the one being decided; until then the frame waits (about
one frame period). The oldest waiting frame is decided first.

A frame that waits ``max_age_ms`` without a decision, that has no partner, or that is pushed out
of its bounded queue, is released alone: a left view is then decoded without side information
and a right view on its own, so no frame is lost to pairing. Only exact duplicates are dropped.

Its metrics (:class:`PairingMetrics`, ``docs/metrics.md``): pairs, forced pairs, frames
released alone, skew, waits, clock steps and waiting frames; a rig's series exist while it
holds a slot.

Not thread-safe: the receive loop owns the pairer. Times are ``time.monotonic()`` seconds.
"""

from __future__ import annotations

from collections import deque

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from decoder_node.config import PairingConfig
from decoder_node.frames import ReceivedFrame, StereoItem
from decoder_node.metrics import (
    FORCED_REASONS,
    LATENCY_BUCKETS,
    SIDES,
    SKEW_BUCKETS,
    UNPAIRED_REASONS,
    FrameDrops,
    RigSeries,
    metric_name,
    publish_setting,
    zero_series,
)

OTHER_SIDE = {"left": "right", "right": "left"}
WAIT = "wait"


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


class _RigState:
    """One rig's unmatched frames (arrival order), newest capture seen, seqs released alone."""

    def __init__(self, queue_size: int) -> None:
        self.waiting: dict[str, deque[ReceivedFrame]] = {"left": deque(), "right": deque()}
        self.newest_ns: dict[str, int | None] = {"left": None, "right": None}
        self.released: dict[str, deque[int]] = {
            "left": deque(maxlen=queue_size),
            "right": deque(maxlen=queue_size),
        }


class Pairer:
    """Match left and right frames per rig; see the module docstring for the rules."""

    def __init__(self, cfg: PairingConfig, drops: FrameDrops, registry: CollectorRegistry) -> None:
        self._cfg = cfg
        self._slop_ns = int(cfg.slop_ms * 1e6)
        self._max_age_s = cfg.max_age_ms / 1000.0
        self._drops = drops
        self._metrics = PairingMetrics(registry, drops.rigs, cfg.slop_ms)
        self._rigs: dict[str, _RigState] = {}

    @property
    def pending(self) -> int:
        """Frames waiting for a partner, all rigs together."""
        return sum(len(q) for r in self._rigs.values() for q in r.waiting.values())

    def add(self, frame: ReceivedFrame, now: float) -> list[StereoItem]:
        """Take one frame; return the items it completes or releases (possibly none)."""
        state = self._rigs.setdefault(frame.rig, _RigState(self._cfg.queue_size))
        own = state.waiting[frame.side]
        if any(f.seq == frame.seq and f.capture_ns == frame.capture_ns for f in own):
            self._drops.drop(frame.rig, frame.side, "duplicate")
            return []
        if self._cfg.mode == "sequence":
            released = self._add_by_sequence(state, frame, now)
        else:
            released = self._add_by_timestamp(state, frame, now)
        if len(own) > self._cfg.queue_size:
            released.append(self._alone(state, own.popleft(), now, "queue_full"))
        self._update_gauges(frame.rig, state)
        return released

    def forget(self, rig: str, now: float) -> list[StereoItem]:
        """Drop a silent rig's state; its waiting frames (if any) are released alone
        (unpaired reason ``rig_idle``). The caller then releases the rig's series."""
        state = self._rigs.pop(rig, None)
        if state is None:
            return []
        frames = sorted((f for q in state.waiting.values() for f in q), key=lambda f: f.recv_mono)
        return [self._alone(state, f, now, "rig_idle") for f in frames]

    def expire(self, now: float) -> list[StereoItem]:
        """Release, alone, every frame that has waited ``max_age_ms``."""
        released = []
        for rig, state in self._rigs.items():
            if self._cfg.mode == "timestamp":
                released += self._match_timestamps(
                    state, now, force_before=now - self._max_age_s, why="partner_timeout"
                )
            for queue in state.waiting.values():
                while queue and now - queue[0].recv_mono >= self._max_age_s:
                    released.append(self._alone(state, queue.popleft(), now, "partner_timeout"))
            self._update_gauges(rig, state)
        return released

    def flush(self, now: float) -> list[StereoItem]:
        """Release every waiting frame (shutdown drain): pairs where a partner is waiting
        (timestamp mode decides without waiting for more input), the rest alone."""
        released = []
        for rig, state in self._rigs.items():
            if self._cfg.mode == "timestamp":
                released += self._match_timestamps(
                    state, now, force_before=float("inf"), why="shutdown"
                )
            frames = sorted(
                (f for q in state.waiting.values() for f in q), key=lambda f: f.recv_mono
            )
            for queue in state.waiting.values():
                queue.clear()
            released += [self._alone(state, f, now, "shutdown") for f in frames]
            self._update_gauges(rig, state)
        return sorted(released, key=lambda item: item.frames[0].recv_mono)

    # -- sequence mode -------------------------------------------------------------------

    def _add_by_sequence(self, state: _RigState, frame: ReceivedFrame, now: float) -> list:
        others = state.waiting[OTHER_SIDE[frame.side]]
        partner = next((f for f in others if f.seq == frame.seq), None)
        if partner is not None:
            others.remove(partner)
            return [self._pair(frame, partner, now)]
        if frame.seq in state.released[OTHER_SIDE[frame.side]]:
            return [self._alone(state, frame, now, "partner_expired")]
        state.waiting[frame.side].append(frame)
        return []

    # -- timestamp mode ------------------------------------------------------------------

    def _add_by_timestamp(self, state: _RigState, frame: ReceivedFrame, now: float) -> list:
        newest = state.newest_ns[frame.side]
        if newest is not None and frame.capture_ns < newest - self._slop_ns:
            # A camera's frames arrive in capture order, so an earlier capture time means its
            # clock stepped back (after a step forward, say): its newest time is this one again,
            # or every later frame would be decided against a time that has not come yet.
            self._metrics.clock_steps.labels(frame.rig, frame.side).inc()
            newest = None
        state.newest_ns[frame.side] = max(frame.capture_ns, newest or frame.capture_ns)
        state.waiting[frame.side].append(frame)
        return self._match_timestamps(state, now)

    def _match_timestamps(
        self,
        state: _RigState,
        now: float,
        force_before: float = float("-inf"),
        why: str = "partner_timeout",
    ) -> list[StereoItem]:
        """Decide waiting frames oldest capture first, until one must wait for more input.

        A frame that arrived before ``force_before`` and would still wait is decided with the
        frames at hand, counted under ``why`` (its pair in ``pairs_forced_total``, or the frame
        released alone); a frame whose decision is already final counts as usual.
        """
        released: list[StereoItem] = []
        while True:
            oldest = self._oldest_waiting(state)
            if oldest is None:
                return released
            decision, forced = self._decide(state, oldest, forced=False), False
            if decision == WAIT and oldest.recv_mono <= force_before:
                decision, forced = self._decide(state, oldest, forced=True), True
            if decision == WAIT:
                return released
            state.waiting[oldest.side].remove(oldest)
            if isinstance(decision, ReceivedFrame):
                state.waiting[decision.side].remove(decision)
                released.append(self._pair(oldest, decision, now))
                if forced:
                    self._metrics.forced.labels(oldest.rig, why).inc()
            else:
                released.append(self._alone(state, oldest, now, why if forced else "no_partner"))

    @staticmethod
    def _oldest_waiting(state: _RigState) -> ReceivedFrame | None:
        heads = [min(q, key=lambda f: f.capture_ns) for q in state.waiting.values() if q]
        return min(heads, key=lambda f: f.capture_ns) if heads else None

    def _decide(
        self, state: _RigState, frame: ReceivedFrame, forced: bool
    ) -> ReceivedFrame | str | None:
        """The partner of ``frame``, None if it has none, or WAIT if that is not yet known."""
        other = OTHER_SIDE[frame.side]
        if not forced and not self._seen_since(state, other, frame.capture_ns):
            return WAIT
        candidate = _nearest(state.waiting[other], frame.capture_ns)
        if candidate is None or abs(candidate.capture_ns - frame.capture_ns) > self._slop_ns:
            return None
        if not forced and not self._seen_since(state, frame.side, candidate.capture_ns):
            return WAIT
        mutual = _nearest(state.waiting[frame.side], candidate.capture_ns)
        return candidate if mutual is frame else None

    @staticmethod
    def _seen_since(state: _RigState, side: str, capture_ns: int) -> bool:
        """Has ``side`` delivered a frame captured at or after ``capture_ns``?"""
        newest = state.newest_ns[side]
        return newest is not None and newest >= capture_ns

    # -- releasing -----------------------------------------------------------------------

    def _pair(self, a: ReceivedFrame, b: ReceivedFrame, now: float) -> StereoItem:
        left, right = (a, b) if a.side == "left" else (b, a)
        self._metrics.pairs.labels(a.rig).inc()
        self._metrics.skew.labels(a.rig).observe(abs(left.capture_ns - right.capture_ns) / 1e9)
        self._observe_wait(left, now)
        self._observe_wait(right, now)
        return StereoItem(rig=a.rig, left=left, right=right, ready_mono=now)

    def _alone(self, state: _RigState, frame: ReceivedFrame, now: float, why: str) -> StereoItem:
        state.released[frame.side].append(frame.seq)
        self._metrics.unpaired.labels(frame.rig, frame.side, why).inc()
        self._observe_wait(frame, now)
        is_left = frame.side == "left"
        return StereoItem(
            rig=frame.rig,
            left=frame if is_left else None,
            right=None if is_left else frame,
            ready_mono=now,
        )

    def _observe_wait(self, frame: ReceivedFrame, now: float) -> None:
        self._metrics.wait.labels(frame.side).observe(max(0.0, now - frame.recv_mono))

    def _update_gauges(self, rig: str, state: _RigState) -> None:
        for side, queue in state.waiting.items():
            self._metrics.unmatched.labels(rig, side).set(len(queue))


def _nearest(frames: deque[ReceivedFrame], capture_ns: int) -> ReceivedFrame | None:
    """The frame captured nearest to ``capture_ns`` (the earlier one on a tie)."""
    if not frames:
        return None
    return min(frames, key=lambda f: (abs(f.capture_ns - capture_ns), f.capture_ns))
