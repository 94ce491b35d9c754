"""A camera node's ``/healthz`` document (served by :class:`pipeline.monitoring.MonitoringServer`).

``status`` is ``ok`` while frames leave the node; ``starting`` before the first capture,
``stalled`` when nothing was sent for the stall time (the decoder is away, the source stopped
delivering, or the encoder is stuck: ``seconds_since_capture`` tells which side), ``stopping``
while it flushes its queue, ``stopped`` after. Only ``ok`` answers 200.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pipeline
from camera_nodes.config import CameraConfig
from camera_nodes.metrics import CameraMetrics

QUEUE = "stereo_camera_send_queue_depth"


@dataclass
class Activity:
    """When the node last captured and sent (``time.monotonic()``), and its state."""

    state: str = "starting"
    started: float = field(default_factory=time.monotonic)
    last_capture: float | None = None
    last_send: float | None = None


def stall_after(config: CameraConfig) -> float:
    """Seconds without a send before ``stalled``: ``stall_s``, and never under three frame
    intervals (a camera at 0.2 fps is not stalled between two frames)."""
    return max(config.stall_s, 3.0 / config.fps) if config.fps > 0 else config.stall_s


def _since(now: float, then: float | None) -> float | None:
    return None if then is None else round(max(0.0, now - then), 3)  # ``then`` may be newer


def camera_health(
    config: CameraConfig,
    metrics: CameraMetrics,
    activity: Activity,
    model_id: str,
    video: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The document: status, identity, frame counts so far, and seconds since the last
    capture and send (``null`` before the first); a video camera's ``video``: its FFmpeg
    ``encoder`` (``null`` before the first frame, and for a pass-through source) and the
    encoders ``auto`` passed over (``refused``: name -> why), with its ``keyframes_sent``."""
    now = time.monotonic()
    status = activity.state
    quiet = now - (activity.last_send or activity.started)
    if status == "ok" and quiet > stall_after(config):
        status = "stalled"
    counts = metrics.totals()
    labels = {"rig": config.rig_id, "side": config.side}
    return {
        "status": status,
        "version": pipeline.__version__,
        "rig": config.rig_id,
        "side": config.side,
        "codec": config.codec,
        "model_id": model_id,
        "endpoint": config.endpoint,
        "uptime_s": round(now - activity.started, 3),
        "frames_captured": counts["captured"],
        "frames_encoded": counts["encoded"],
        "frames_sent": counts["sent"],
        "missed_slots": counts["missed_slots"],
        "frames_dropped": {k[8:]: v for k, v in counts.items() if k.startswith("dropped_")},
        "send_queue": int(metrics.registry.get_sample_value(QUEUE, labels) or 0),
        "seconds_since_capture": _since(now, activity.last_capture),
        "seconds_since_send": _since(now, activity.last_send),
    } | ({} if video is None else {"video": video | {"keyframes_sent": counts["keyframes_sent"]}})
