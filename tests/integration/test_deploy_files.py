"""Deployment files agree with the code: metric names, commands, configs."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from camera_nodes.config import CameraConfig
from decoder_node.config import DecoderConfig, PngSinkConfig
from pipeline.config import load_config, parse_config
from stereo_app.cli import COMMANDS
from tests.integration.secured_run import documented_keys_step

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


WATCHED = (
    "stereo_decoder_auth_refused_total",
    "stereo_decoder_batch_oom_splits_total",
    "stereo_decoder_rig_slots_released_total",
    "stereo_decoder_backlog_capacity",
    "process_start_time_seconds",
)
"""Metrics that an alert and a dashboard panel both use (issue 27: none did)."""


def test_refusals_splits_slot_handovers_sizes_and_restarts_are_alerted_and_shown():
    alerts = (DEPLOY / "prometheus" / "alerts.yml").read_text()
    dashboard = (DEPLOY / "grafana" / "stereo-pipeline.json").read_text()
    for name in WATCHED:
        assert name in alerts and name in dashboard, name


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


def shipped_configs() -> dict[Path, DecoderConfig | CameraConfig]:
    """Every TOML config the repository ships (configs/, deploy/), parsed with its schema (the
    Kubernetes camera files' rig placeholder filled as their init container does)."""
    found = {}
    for path in sorted([*(REPO / "configs").rglob("*.toml"), *DEPLOY.rglob("*.toml")]):
        data = tomllib.loads(path.read_text().replace("__RIG_ID__", "rig0"))
        found[path] = parse_config(data, CameraConfig if "side" in data else DecoderConfig)
    return found


def test_images_and_install_steps_copy_only_shipped_configs():
    copied = set()
    for path in (DEPLOY / "docker").glob("*.Dockerfile"):
        copied |= set(re.findall(r"^COPY (configs/\S+\.toml) ", path.read_text(), re.M))
    copied |= set(
        re.findall(r"install .*?(configs/\S+\.toml) ", (REPO / "docs/install.md").read_text())
    )
    assert {"configs/decoder.toml", "configs/camera-left.toml"} <= copied
    assert {REPO / name for name in copied} <= set(shipped_configs())


def test_every_shipped_png_sink_is_bounded():
    pngs = [
        (path, sink)
        for path, config in shipped_configs().items()
        if isinstance(config, DecoderConfig)
        for sink in config.sinks
        if isinstance(sink, PngSinkConfig)
    ]
    assert pngs  # configs/decoder.toml writes PNGs
    for path, sink in pngs:  # max_age_s alone does not bound a busy decoder's disk
        assert sink.max_files > 0, path


def test_every_shipped_config_turns_curve_on():
    configs = shipped_configs()
    assert sum(isinstance(c, DecoderConfig) for c in configs.values()) == 2
    for path, config in configs.items():
        if isinstance(config, DecoderConfig):
            assert config.security.enabled and not config.security.allow_insecure, path
        else:
            assert config.secret_key and config.server_key, path


def test_readmes_and_install_steps_lead_to_the_security_doc():
    for path in (REPO / "README.md", DEPLOY / "README.md", REPO / "docs" / "install.md"):
        assert "docs/security.md" in path.read_text(), path


def systemd_steps() -> str:
    """The shell lines of docs/install.md's systemd section, continuations joined."""
    text = (REPO / "docs" / "install.md").read_text()
    section = text.split("## systemd units\n", 1)[1].split("\n## ", 1)[0]
    return "".join(re.findall(r"```\n(.*?)```", section, re.S)).replace("\\\n", " ")


def keys_step_files() -> set[Path]:
    """The files docs/install.md's "Keys" step writes (``keys generate`` and ``cp`` lines)."""
    shell = documented_keys_step()[0]
    written = set()
    for line in shell:
        if named := re.search(r"keys generate --out (\S+) --name (\S+)", line):
            out, name = named.groups()
            written |= {Path(out) / f"{name}.key", Path(out) / f"{name}.key_secret"}
        elif line.startswith("cp "):
            *sources, target = line.split()[1:]
            written |= {Path(target) / Path(s).name for s in sources}
    return written


def test_systemd_install_steps_install_every_key_the_configs_read_before_starting():
    steps = systemd_steps()
    unit = (DEPLOY / "systemd" / "stereo-decoder.service").read_text()
    workdir = Path(re.search(r"^WorkingDirectory=(\S+)$", unit, re.M)[1])
    generated, written = keys_step_files(), set()
    for line in re.findall(r"^sudo install (?!-d)(.*)$", steps, re.M):
        *sources, target = re.sub(r"-[mog] \S+|-D", "", line).split()
        if target.startswith(str(workdir / "keys")):
            assert "-o stereo -g stereo" in line, line
            assert ("-m 600" in line) == all(s.endswith(".key_secret") for s in sources), line
            assert {Path(s) for s in sources} <= generated, line
        written |= {Path(target) / Path(s).name for s in sources if target.endswith("/")}
    decoder = load_config(REPO / "configs" / "decoder.toml", DecoderConfig).security
    assert workdir / decoder.secret_key in written
    allowed = {p for p in written if p.parent == workdir / decoder.cameras}
    assert {p.name for p in allowed} == {"rig0-left.key", "rig0-right.key"}
    assert workdir / decoder.subscribers / "viewer1.key" in written
    for side in ("left", "right"):
        camera = load_config(REPO / "configs" / f"camera-{side}.toml", CameraConfig)
        assert {workdir / camera.secret_key, workdir / camera.server_key} <= written
    # the decoder starts once its allowlist is in place
    assert steps.index("enable --now stereo-decoder") > steps.index("keys/cameras/\n")
