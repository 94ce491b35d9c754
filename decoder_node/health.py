"""The decoder daemon's ``/healthz`` document."""

from __future__ import annotations

import time
from typing import Any

import pipeline


def health_document(app: Any, batcher: Any, workers: Any, decoder: Any) -> dict[str, Any]:
    """``status`` (``ok`` only when all is well: else ``starting``, ``stalled``, ``draining``,
    ``failed``, ``stopped``) and what an operator looks at first."""
    pending = len(batcher) if batcher else 0
    idle = time.monotonic() - workers.last_output_mono if workers else 0.0
    status = app.state
    if status == "ok" and not app.threads_alive():
        status = "failed"
    elif status == "ok" and pending and idle > app.cfg.http.stall_s:
        status = "stalled"
    return {
        "status": status,
        "version": pipeline.__version__,
        "device": str(getattr(decoder, "device", "unknown")),
        "model_id": str(getattr(decoder, "model_id", "")),
        "self_ensemble": getattr(decoder, "self_ensemble", None),
        "entropy_bounds_checked": app.entropy_bounds_checked,
        "uptime_s": round(time.monotonic() - app.started_mono, 3),
        "pending_pairs": pending,
        "frames_decoded": workers.frames_decoded if workers else 0,
        "seconds_since_output": round(idle, 3),
        "failure": app.failure,
    }
