"""Prometheus metrics of one camera node (``docs/metrics.md``, section "Camera node").

Every name starts with ``stereo_camera_``; labels are ``rig``, ``side`` and, on drops,
``reason`` (one of :data:`DROP_REASONS`, each series there from the start). Each node has its
own registry (with ``process_*`` and ``python_info``), so several nodes can live in one process
(tests) and ``/metrics`` shows only this node.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from camera_nodes.keyframe_requests import REQUEST_OUTCOMES
from pipeline.monitoring import process_registry

DROP_REASONS = ("queue_full", "capture_error", "encode_error", "shutdown", "awaiting_keyframe")
_Metric = Counter | Gauge | Histogram
_SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class CameraMetrics:
    """The metric objects of one node, created where the values are produced."""

    def __init__(self, rig: str, side: str, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or process_registry()
        self._labels = labels = {"rig": rig, "side": side}
        names = list(labels)

        def series(kind: type[_Metric], name: str, doc: str, **options: Any) -> Any:
            """This node's series of a new ``kind`` metric labelled ``rig`` and ``side``."""
            return kind(name, doc, names, registry=self.registry, **options).labels(**labels)

        self.captured = series(
            Counter, "stereo_camera_frames_captured_total", "Frames read from source"
        )
        self.missed = series(
            Counter,
            "stereo_camera_capture_slots_missed_total",
            "Capture times at fps passed over because the node was behind",
        )
        self.encoded = series(Counter, "stereo_camera_frames_encoded_total", "Frames encoded")
        self.sent = series(Counter, "stereo_camera_frames_sent_total", "Frames handed to ZeroMQ")
        self.encoded_bytes = series(
            Counter, "stereo_camera_encoded_bytes_total", "Bitstream bytes made"
        )
        self.sent_bytes = series(Counter, "stereo_camera_sent_bytes_total", "Bitstream bytes sent")
        dropped = Counter(
            "stereo_camera_frames_dropped_total",
            "Frames lost on the camera side, by reason",
            [*names, "reason"],
            registry=self.registry,
        )
        self.dropped = {r: dropped.labels(**labels, reason=r) for r in DROP_REASONS}
        self.keyframes_forced = series(
            Counter,
            "stereo_camera_keyframes_forced_total",
            "Video frames coded as keyframes because the send queue dropped a frame before them",
        )
        self.keyframes_sent = series(
            Counter,
            "stereo_camera_keyframes_sent_total",
            "Video keyframes handed to ZeroMQ: the points where a decoder joins or recovers",
        )
        requests = Counter(
            "stereo_camera_keyframe_requests_total",
            "Keyframe requests from the decoder, by outcome: honoured (the next frame is a "
            "keyframe), already_keyframe (one was coded after the lost packet), stale_stream "
            "(for a stream this camera no longer codes), malformed, passthrough (a pass-through "
            "stream cannot be made to send one)",
            [*names, "outcome"],
            registry=self.registry,
        )
        self.keyframe_requests = {o: requests.labels(**labels, outcome=o) for o in REQUEST_OUTCOMES}
        self._encoder_info = Gauge(
            "stereo_camera_video_encoder_info",
            "The FFmpeg encoder a video camera runs (label encoder; value 1)",
            [*names, "codec", "encoder"],
            registry=self.registry,
        )
        self.capture_seconds = series(
            Histogram,
            "stereo_camera_capture_seconds",
            "Time to read one frame from the source",
            buckets=_SECONDS_BUCKETS,
        )
        self.encode_seconds = series(
            Histogram,
            "stereo_camera_encode_seconds",
            "Time to encode one frame",
            buckets=_SECONDS_BUCKETS,
        )
        self.quality = series(Gauge, "stereo_camera_quality", "Codec quality of the last frame")
        self.queue_depth = series(
            Gauge, "stereo_camera_send_queue_depth", "Frames waiting in the send queue"
        )

    def set_encoder(self, codec: str, encoder: str) -> None:
        """Say that this node's ``codec`` stream is coded by FFmpeg encoder ``encoder`` (the
        series of the one before, if another, goes)."""
        self._encoder_info.clear()
        self._encoder_info.labels(**self._labels, codec=codec, encoder=encoder).set(1)

    def totals(self) -> dict[str, int]:
        """This node's frame counts so far: captured, encoded, sent, video keyframes sent,
        capture times missed, keyframe requests honoured, and frames dropped by reason."""

        def value(name: str, **extra: str) -> int:
            sample = self.registry.get_sample_value(name, {**self._labels, **extra})
            return int(sample or 0)

        counts = {
            kind: value(f"stereo_camera_frames_{kind}_total")
            for kind in ("captured", "encoded", "sent")
        }
        counts["keyframes_sent"] = value("stereo_camera_keyframes_sent_total")
        counts["missed_slots"] = value("stereo_camera_capture_slots_missed_total")
        counts["keyframe_requests_honoured"] = value(
            "stereo_camera_keyframe_requests_total", outcome="honoured"
        )
        for reason in DROP_REASONS:
            counts[f"dropped_{reason}"] = value("stereo_camera_frames_dropped_total", reason=reason)
        return counts
