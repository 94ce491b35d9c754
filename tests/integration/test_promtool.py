"""The Prometheus files checked by Debian's promtool: rules, both configs, the rule unit tests;
and every alert has a unit test and a runbook entry in docs/operations.md."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from tests.integration.prometheus_tools import PROMETHEUS_DIR, REPO, require_tool

ALERTS = PROMETHEUS_DIR / "alerts.yml"
RULE_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))


def alert_blocks(text: str) -> dict[str, str]:
    """Alert name -> the text of its rule (up to the next rule)."""
    parts = re.split(r"^\s*- alert: ", text, flags=re.M)[1:]
    return {part.split()[0]: part for part in parts}


def promtool(*args: str | Path) -> subprocess.CompletedProcess:
    tool = require_tool("promtool")
    return subprocess.run([tool, *map(str, args)], capture_output=True, text=True, timeout=60)


def test_rules_pass_promtool_check() -> None:
    result = promtool("check", "rules", ALERTS)
    assert result.returncode == 0, result.stdout + result.stderr
    count = len(alert_blocks(ALERTS.read_text()))
    assert count >= 17 and f"SUCCESS: {count} rules found" in result.stdout


def test_host_config_passes_promtool_check_config() -> None:
    result = promtool("check", "config", PROMETHEUS_DIR / "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_kubernetes_config_passes_with_discovery_swapped_for_a_static_target(tmp_path) -> None:
    # Debian's build has no Kubernetes discovery; everything else (relabelling, rule files) is
    # checked with the discovery block replaced by a static target.
    text = (PROMETHEUS_DIR / "kubernetes.yml").read_text()
    swapped, n = re.subn(
        r"^    kubernetes_sd_configs:\n(?:      .*\n)+",
        '    static_configs:\n      - targets: ["pod:8470"]\n',
        text,
        flags=re.M,
    )
    assert n == 1
    (tmp_path / "kubernetes.yml").write_text(swapped)
    shutil.copy(ALERTS, tmp_path / "alerts.yml")
    result = promtool("check", "config", tmp_path / "kubernetes.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_unit_tests_pass() -> None:
    result = promtool("test", "rules", *RULE_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(RULE_TESTS) >= 3


def test_rule_unit_tests_catch_a_changed_threshold(tmp_path) -> None:
    changed = ALERTS.read_text().replace(
        "sum by (instance) (rate(stereo_decoder_frames_received_total[5m])) > 0.01",
        "sum by (instance) (rate(stereo_decoder_frames_received_total[5m])) > 0.5",
    )
    assert changed != ALERTS.read_text()
    (tmp_path / "alerts.yml").write_text(changed)
    test = tmp_path / "tests" / "decoder.yml"
    test.parent.mkdir()
    shutil.copy(PROMETHEUS_DIR / "tests" / "decoder.yml", test)
    result = promtool("test", "rules", test)
    assert result.returncode != 0
    assert "alertname: StereoDecoderDroppingFrames" in result.stdout + result.stderr


def test_every_alert_has_a_firing_unit_test() -> None:
    fired = set()
    for path in RULE_TESTS:
        for case in re.split(r"^\s*- eval_time: ", path.read_text(), flags=re.M)[1:]:
            name = re.search(r"alertname: (\w+)", case)
            if name and "exp_labels:" in case:
                fired.add(name.group(1))
    assert set(alert_blocks(ALERTS.read_text())) <= fired


RUNBOOK_URL = re.compile(
    r"""runbook_url: '\{\{ or \$externalLabels\.runbook_base "docs" \}\}/operations\.md#(\w+)'"""
)


def test_every_alert_links_its_runbook_entry_under_the_one_runbook_base() -> None:
    operations = (REPO / "docs" / "operations.md").read_text()
    headings = {h.lower() for h in re.findall(r"^#{2,4} (\w+)\s*$", operations, re.M)}
    for name, block in alert_blocks(ALERTS.read_text()).items():
        url = RUNBOOK_URL.search(block)
        assert url is not None, f"{name} has no runbook_url from runbook_base"
        assert url.group(1) == name.lower() and url.group(1) in headings, name


RUNBOOK_BASE = re.compile(r'^  external_labels:\n(?:    #.*\n)*    runbook_base: "(.+)"$', re.M)


def test_both_prometheus_configs_set_an_absolute_runbook_base() -> None:
    for name in ("prometheus.yml", "kubernetes.yml"):
        base = RUNBOOK_BASE.search((PROMETHEUS_DIR / name).read_text())
        assert base is not None and base.group(1).startswith("https://"), name
