"""Reading a stopped camera node's frame counts from its log (``stereo_app.demo.processes``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from stereo_app.demo.processes import Child, camera_counts

LINE = (
    "2026-11-28 12:00:00,000 INFO camera_nodes.node: rigA/left stopped: captured={n} "
    "encoded={n} sent={s} dropped_queue_full=0 dropped_capture_error=0 "
    "dropped_encode_error=0 dropped_shutdown={d}"
)


def _child(tmp_path: Path, log_text: str, seconds: float = 0.0) -> Child:
    """A process that lives ``seconds`` and whose log holds ``log_text``."""
    path = tmp_path / "camera.log"
    path.write_text(log_text)
    proc = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({seconds})"])
    return Child("camera", proc, path.open("ab"))


def test_the_last_stop_line_gives_the_counts(tmp_path):
    log = "\n".join([LINE.format(n=5, s=5, d=0), "noise", LINE.format(n=9, s=7, d=2), ""])
    child = _child(tmp_path, log)
    child.proc.wait(30)
    assert camera_counts(child) == {
        "captured": 9,
        "encoded": 9,
        "sent": 7,
        "dropped_queue_full": 0,
        "dropped_capture_error": 0,
        "dropped_encode_error": 0,
        "dropped_shutdown": 2,
    }


def test_no_counts_without_the_line(tmp_path):
    child = _child(tmp_path, "ERROR camera_nodes: camera node failed: no source\n")
    child.proc.wait(30)
    assert camera_counts(child) is None


def test_no_counts_while_the_camera_runs(tmp_path):
    child = _child(tmp_path, LINE.format(n=1, s=1, d=0), seconds=30)
    try:
        assert camera_counts(child) is None
    finally:
        child.proc.kill()
        child.proc.wait()
