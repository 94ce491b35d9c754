"""Pair the left and right frames of each rig (``docs/pairing.md``).

Two modes: ``sequence`` pairs equal ``seq`` (hardware-triggered rigs, where both views of one
trigger carry the same index); ``timestamp`` pairs the waiting frame of the other side whose
capture time is nearest, if it is within ``slop_ms``. A frame that waits ``max_age_ms`` without
a partner, or is pushed out of its bounded queue, is released alone: a left view is then decoded
without side information and a right view on its own, so no frame is lost to pairing.

The pairer is not thread-safe: the receive loop owns it. Times are ``time.monotonic()`` seconds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from decoder_node.config import PairingConfig
from decoder_node.frames import ReceivedFrame, StereoItem
from decoder_node.metrics import LATENCY_BUCKETS, SKEW_BUCKETS, FrameDrops, metric_name

OTHER_SIDE = {"left": "right", "right": "left"}

Matcher = Callable[[ReceivedFrame, int, int], bool]
"""``matches(frame, other_seq, other_capture_ns)``: may these two views form a pair?"""


class _RigState:
    """The unmatched frames of one rig, oldest first, and recent partners released alone."""

    def __init__(self, queue_size: int) -> None:
        self.waiting: dict[str, deque[ReceivedFrame]] = {"left": deque(), "right": deque()}
        self.released: dict[str, deque[tuple[int, int]]] = {
            "left": deque(maxlen=queue_size),
            "right": deque(maxlen=queue_size),
        }


class PairingMetrics:
    """The pairer's metrics, created in the daemon's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.pairs = Counter(
            metric_name("pairs_total"), "Left/right pairs formed.", ("rig",), registry=registry
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
        self.unmatched = Gauge(
            metric_name("unmatched_frames"),
            "Frames waiting for their partner.",
            ("rig", "side"),
            registry=registry,
        )


class Pairer:
    """Match left and right frames per rig; see the module docstring for the rules."""

    def __init__(self, cfg: PairingConfig, drops: FrameDrops, registry: CollectorRegistry) -> None:
        self._cfg = cfg
        self._slop_ns = int(cfg.slop_ms * 1e6)
        self._max_age_s = cfg.max_age_ms / 1000.0
        self._drops = drops
        self._metrics = PairingMetrics(registry)
        self._rigs: dict[str, _RigState] = {}
        self._matches: Matcher = self._same_seq if cfg.mode == "sequence" else self._within_slop

    @property
    def pending(self) -> int:
        """Frames waiting for a partner, all rigs together."""
        return sum(len(q) for r in self._rigs.values() for q in r.waiting.values())

    def add(self, frame: ReceivedFrame, now: float) -> list[StereoItem]:
        """Take one frame; return the items it completes or pushes out (possibly none)."""
        state = self._rigs.setdefault(frame.rig, _RigState(self._cfg.queue_size))
        own = state.waiting[frame.side]
        if any(f.seq == frame.seq for f in own):
            self._drops.drop(frame.rig, frame.side, "duplicate")
            return []
        partner = self._take_partner(state, frame)
        if partner is not None:
            return [self._pair(frame, partner, now)]
        if self._partner_released(state, frame):
            return [self._alone(frame, now, "partner_expired")]
        own.append(frame)
        released = []
        if len(own) > self._cfg.queue_size:
            released.append(self._alone(own.popleft(), now, "queue_full"))
        self._update_gauge(frame.rig, frame.side)
        return released

    def expire(self, now: float) -> list[StereoItem]:
        """Release, alone, every frame that has waited ``max_age_ms``."""
        released = []
        for rig, state in self._rigs.items():
            for side, queue in state.waiting.items():
                while queue and now - queue[0].recv_mono >= self._max_age_s:
                    frame = queue.popleft()
                    state.released[side].append((frame.seq, frame.capture_ns))
                    released.append(self._alone(frame, now, "partner_timeout"))
                self._update_gauge(rig, side)
        return released

    def flush(self, now: float) -> list[StereoItem]:
        """Release every waiting frame alone (shutdown drain), oldest first."""
        released = [self._alone(f, now, "shutdown") for f in self._all_waiting()]
        for rig, state in self._rigs.items():
            for side, queue in state.waiting.items():
                queue.clear()
                self._update_gauge(rig, side)
        return sorted(released, key=lambda item: item.frames[0].recv_mono)

    def _all_waiting(self) -> Iterator[ReceivedFrame]:
        for state in self._rigs.values():
            for queue in state.waiting.values():
                yield from queue

    def _take_partner(self, state: _RigState, frame: ReceivedFrame) -> ReceivedFrame | None:
        others = state.waiting[OTHER_SIDE[frame.side]]
        candidates = [f for f in others if self._matches(frame, f.seq, f.capture_ns)]
        if not candidates:
            return None
        best = min(candidates, key=lambda f: abs(f.capture_ns - frame.capture_ns))
        others.remove(best)
        self._update_gauge(frame.rig, best.side)
        return best

    def _partner_released(self, state: _RigState, frame: ReceivedFrame) -> bool:
        released = state.released[OTHER_SIDE[frame.side]]
        return any(self._matches(frame, seq, capture) for seq, capture in released)

    def _same_seq(self, frame: ReceivedFrame, seq: int, capture_ns: int) -> bool:
        return frame.seq == seq

    def _within_slop(self, frame: ReceivedFrame, seq: int, capture_ns: int) -> bool:
        return abs(frame.capture_ns - capture_ns) <= self._slop_ns

    def _pair(self, a: ReceivedFrame, b: ReceivedFrame, now: float) -> StereoItem:
        left, right = (a, b) if a.side == "left" else (b, a)
        self._metrics.pairs.labels(a.rig).inc()
        self._metrics.skew.labels(a.rig).observe(abs(left.capture_ns - right.capture_ns) / 1e9)
        self._observe_wait(left, now)
        self._observe_wait(right, now)
        return StereoItem(rig=a.rig, left=left, right=right, ready_mono=now)

    def _alone(self, frame: ReceivedFrame, now: float, reason: str) -> StereoItem:
        self._metrics.unpaired.labels(frame.rig, frame.side, reason).inc()
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

    def _update_gauge(self, rig: str, side: str) -> None:
        state = self._rigs.get(rig)
        count = len(state.waiting[side]) if state else 0
        self._metrics.unmatched.labels(rig, side).set(count)
