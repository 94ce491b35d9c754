"""Deployment files agree with the code: metric names, commands, configs."""

from __future__ import annotations

import json
import re
from pathlib import Path

from decoder_node.config import DecoderConfig
from pipeline.config import load_config
from stereo_app.cli import COMMANDS

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
SUFFIXES = ("_bucket", "_sum", "_count")


def documented_metrics() -> set[str]:
    text = (REPO / "docs" / "metrics.md").read_text()
    return set(re.findall(r"^\|\s*`(stereo_[a-z_]+)`\s*\|", text, re.M))


def used_metrics(text: str) -> set[str]:
    names = set()
    for name in re.findall(r"\bstereo_(?:decoder|camera)_[a-z_]+", text):
        for suffix in SUFFIXES:
            if name.endswith(suffix):
                name = name[: -len(suffix)]
        names.add(name)
    return names


def test_alerts_and_dashboard_use_only_documented_metrics():
    documented = documented_metrics()
    for path in (DEPLOY / "prometheus" / "alerts.yml", DEPLOY / "grafana" / "stereo-pipeline.json"):
        used = used_metrics(path.read_text())
        assert used, path
        assert used <= documented, (path.name, sorted(used - documented))


def test_dashboard_is_valid_json_with_queries_on_every_panel():
    dashboard = json.loads((DEPLOY / "grafana" / "stereo-pipeline.json").read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert len(panels) >= 10
    assert all(p["targets"] and all(t["expr"] for t in p["targets"]) for p in panels)
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])


def test_drop_and_latency_alerts_exist():
    alerts = (DEPLOY / "prometheus" / "alerts.yml").read_text()
    for name in ("StereoDecoderDroppingFrames", "StereoDecoderLatencyHigh", "StereoDecoderDown"):
        assert f"alert: {name}" in alerts


def test_units_and_images_run_existing_commands():
    found = []
    for path in (DEPLOY / "systemd").glob("*.service"):
        found += re.findall(r"bin/stereo-pipeline (\w+) --config", path.read_text())
    for path in (DEPLOY / "docker").glob("*.Dockerfile"):
        found += re.findall(r'ENTRYPOINT \["stereo-pipeline", "(\w+)"\]', path.read_text())
    assert sorted(set(found)) == ["camera", "decoder"]
    assert all(sub in COMMANDS for sub in found)


def test_shipped_decoder_config_is_valid():
    cfg = load_config(REPO / "configs" / "decoder.toml", DecoderConfig)
    assert cfg.receiver.bind == "tcp://*:5555"
