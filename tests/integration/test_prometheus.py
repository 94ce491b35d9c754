"""A real Prometheus (Debian's server) scraping a running decoder and camera node.

Scrape and rule evaluation every second, the repo's ``alerts.yml``; then, through the server's
HTTP API: the pipeline's series (frames by side, process memory), every metric name the
dashboard and the alerts use, every dashboard query, every rule evaluated without error, and the
camera's target-down alert going pending once the camera is killed.
"""

from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from stereo_app.demo.processes import Child, health, spawn, stop
from stereo_app.demo.setup import free_port, pick_ports
from tests.integration.configs import camera_toml, cpu_decoder_toml
from tests.integration.prometheus_tools import (
    PROMETHEUS_DIR,
    PrometheusServer,
    require_tool,
)
from tests.integration.test_deploy_files import used_metrics

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

REPO = Path(__file__).resolve().parents[2]
ENV = {"OMP_NUM_THREADS": "1"}
JOBS = {"stereo-decoder", "stereo-camera"}
RUNBOOK_BASE = "https://docs.test/stereo-pipeline/docs"


@dataclass
class Stack:
    """The running processes and where they answer."""

    prometheus: PrometheusServer
    decoder: Child
    camera: Child
    decoder_port: int
    camera_port: int


def prometheus_yml(decoder_port: int, camera_port: int) -> str:
    return f"""
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
  external_labels: {{runbook_base: "{RUNBOOK_BASE}"}}
rule_files: ["{(PROMETHEUS_DIR / "alerts.yml").as_posix()}"]
scrape_configs:
  - job_name: stereo-decoder
    static_configs: [{{targets: ["127.0.0.1:{decoder_port}"]}}]
  - job_name: stereo-camera
    static_configs: [{{targets: ["127.0.0.1:{camera_port}"]}}]
"""


def prom_camera_toml(frames_port: int, metrics_port: int) -> str:
    return camera_toml(
        "prom",
        "left",
        f"tcp://127.0.0.1:{frames_port}",
        codec="jpeg",
        fps=4.0,
        metrics_port=metrics_port,
        metrics_addr="127.0.0.1",
    )


def wait_for(check: Callable[[], object], timeout: float, what: str, stack_log: Path) -> object:
    """The first truthy ``check()`` within ``timeout`` seconds, else fail with the logs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    logs = "\n".join(p.read_text()[-1500:] for p in sorted(stack_log.glob("*.log")))
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{logs}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    require_tool("prometheus")
    folder = tmp_path_factory.mktemp("prometheus")
    ports, prom_port = pick_ports(), free_port()
    (folder / "decoder.toml").write_text(cpu_decoder_toml(ports.frames, ports.decoder_http))
    (folder / "camera.toml").write_text(prom_camera_toml(ports.frames, ports.left_metrics))
    logs = folder / "logs"
    decoder = spawn("decoder", ["decoder", "--config", str(folder / "decoder.toml")], logs, ENV)
    camera = spawn("camera", ["camera", "--config", str(folder / "camera.toml")], logs, ENV)
    prometheus = PrometheusServer(
        logs, prom_port, prometheus_yml(ports.decoder_http, ports.left_metrics)
    )
    stack = Stack(prometheus, decoder, camera, ports.decoder_http, ports.left_metrics)
    try:
        wait_for(prometheus.ready, 30, "prometheus ready", logs)
        ok = lambda: (health(ports.decoder_http) or {}).get("status") == "ok"  # noqa: E731
        wait_for(ok, 120, "decoder healthy", logs)
        wait_for(lambda: received(prometheus, "left") >= 3, 60, "3 left frames scraped", logs)
        yield stack
    finally:
        for child in (camera, decoder):
            stop(child, 20.0)
        prometheus.stop()


def received(prometheus: PrometheusServer, side: str) -> float:
    result = prometheus.query(last(f'stereo_decoder_frames_received_total{{side="{side}"}}', "sum"))
    return float(result[0]["value"][1]) if result else 0.0


def last(selector: str, aggregate: str = "") -> str:
    """``selector``'s newest sample within 10 s: a scrape that timed out on this busy machine
    (1 s) marks a target's series stale, and an instant query then misses them."""
    return f"{aggregate}(last_over_time({selector}[10s]))"


def test_both_targets_are_up(stack: Stack) -> None:
    prom = stack.prometheus
    both = lambda: {r["metric"]["job"] for r in prom.query("up == 1")} == JOBS  # noqa: E731
    wait_for(both, 10, "both targets up", prom.log_path.parent)  # a slow scrape gives up 0
    camera = health(stack.camera_port) or {}  # the real process's /healthz
    assert (camera.get("status"), camera.get("codec"), camera.get("rig")) == ("ok", "jpeg", "prom")


def test_frames_by_side_and_process_metrics_are_scraped(stack: Stack) -> None:
    prom = stack.prometheus
    assert received(prom, "left") >= 3
    right = prom.query(last('stereo_decoder_frames_received_total{side="right"}'))
    assert [r["value"][1] for r in right] == ["0"]  # created at zero with the rig's first frame
    sent = 'stereo_camera_frames_sent_total{rig="prom", side="left"} >= 3'  # scraped apart
    wait_for(lambda: prom.query(sent), 10, sent, prom.log_path.parent)
    reasons = prom.query(last('stereo_camera_frames_dropped_total{job="stereo-camera"}'))
    assert {r["metric"]["reason"] for r in reasons} >= {"queue_full", "encode_error"}
    memory = prom.query(last("process_resident_memory_bytes"))
    assert {r["metric"]["job"] for r in memory} == JOBS
    assert all(float(r["value"][1]) > 20e6 for r in memory)
    cpu = prom.query(last("process_cpu_seconds_total") + " > 0")
    assert {r["metric"]["job"] for r in cpu} == JOBS
    assert len(prom.query(last("python_info"))) == 2


def test_every_metric_the_dashboard_and_alerts_use_exists(stack: Stack) -> None:
    names = set(stack.prometheus.get("/api/v1/label/__name__/values"))
    for path in (PROMETHEUS_DIR / "alerts.yml", REPO / "deploy/grafana/stereo-pipeline.json"):
        used = used_metrics(path.read_text())
        assert used, path
        missing = {n for n in used if not ({n, f"{n}_bucket"} & names)}
        assert not missing, (path.name, sorted(missing))


def dashboard_queries() -> list[tuple[str, str]]:
    dashboard = json.loads((REPO / "deploy/grafana/stereo-pipeline.json").read_text())
    return [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def empty_dashboard_queries(prometheus: PrometheusServer) -> list[tuple[str, str]]:
    """(panel title, query) of every dashboard query that returns no series now."""
    empty = []
    for title, expr in dashboard_queries():
        expr = expr.replace("$__rate_interval", "10s")
        expr = re.sub(r"\$\{?\w+\}?", ".*", expr)  # template variables: all values
        if not prometheus.query(expr):
            empty.append((title, expr))
    return empty


def test_every_dashboard_query_returns_series(stack: Stack) -> None:
    # rates need two scrapes in their window: give a fresh server a few seconds
    prom = stack.prometheus
    deadline = time.monotonic() + 20
    while (empty := empty_dashboard_queries(prom)) and time.monotonic() < deadline:
        time.sleep(1.0)
    assert len(dashboard_queries()) >= 20 and not empty, empty


def test_every_rule_is_loaded_and_evaluates_without_error(stack: Stack) -> None:
    groups = stack.prometheus.get("/api/v1/rules")["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    text = (PROMETHEUS_DIR / "alerts.yml").read_text()
    assert len(rules) == text.count("- alert: ") >= 17
    for rule in rules:
        assert rule["health"] == "ok", (rule["name"], rule.get("lastError"))
        assert rule["annotations"]["runbook_url"].endswith(f"#{rule['name'].lower()}")
    firing = {a["labels"]["alertname"] for a in stack.prometheus.alerts() if a["state"] == "firing"}
    assert not firing & {"StereoDecoderDown", "StereoDecoderAbsent", "StereoCameraAbsent"}


def test_killed_camera_sets_its_target_down_alert_pending(stack: Stack) -> None:
    stack.camera.proc.send_signal(signal.SIGKILL)
    stack.camera.proc.wait(10)
    instance = f"127.0.0.1:{stack.camera_port}"

    def camera_down() -> list[dict]:
        return [
            a
            for a in stack.prometheus.alerts()
            if a["labels"]["alertname"] == "StereoCameraDown"
            and a["labels"]["instance"] == instance
        ]

    found = wait_for(camera_down, 20, "StereoCameraDown pending", stack.prometheus.log_path.parent)
    assert found[0]["state"] == "pending"  # `for: 2m` keeps it pending within this test
    runbook = found[0]["annotations"]["runbook_url"]  # absolute from the external label
    assert runbook == f"{RUNBOOK_BASE}/operations.md#stereocameradown"
