"""deploy/k8s rendered by kustomize (``kubectl kustomize``; skipped without kubectl): the
replica count in one place, configs the daemons accept, stable decoder names the cameras'
template reaches, and pods that run as uid 10001, not privileged."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from camera_nodes.config import CameraConfig
from decoder_node.config import DecoderConfig
from pipeline.config import load_config
from pipeline.sharding import replica_of

REPO = Path(__file__).resolve().parents[2]
KUBECTL = shutil.which("kubectl")


def render(folder: Path) -> dict[tuple[str, str], dict]:
    """The kustomization's objects by (kind, name), as JSON (``label --local`` converts them
    without a cluster)."""
    yaml = subprocess.run(
        [KUBECTL, "kustomize", str(folder)], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    text = subprocess.run(
        [KUBECTL, "label", "--local", "-f", "-", "-o", "json", "rendered=true"],
        input=yaml,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
        env={"KUBECONFIG": "/dev/null", "PATH": "/usr/bin:/bin"},
    ).stdout
    objects, decoder, at = {}, json.JSONDecoder(), 0
    while text[at:].strip():
        obj, at = decoder.raw_decode(text, text.index("{", at))
        objects[obj["kind"], obj["metadata"]["name"].rsplit("-config-", 1)[0]] = obj
    return objects


@pytest.fixture(scope="module")
def objects() -> dict[tuple[str, str], dict]:
    if KUBECTL is None:
        pytest.skip("kubectl is not installed")
    return render(REPO / "deploy" / "k8s")


def test_replicas_set_once_reach_the_statefulset_and_every_config(objects, tmp_path):
    replicas = objects["StatefulSet", "stereo-decoder"]["spec"]["replicas"]
    assert replicas == 2
    decoder_toml = objects["ConfigMap", "stereo-decoder"]["data"]["decoder.toml"]
    (tmp_path / "decoder.toml").write_text(decoder_toml)
    shard = load_config(tmp_path / "decoder.toml", DecoderConfig).shard
    assert (shard.replicas, shard.index) == (replicas, "auto")
    for side in ("left", "right"):
        text = objects["ConfigMap", "stereo-camera"]["data"][f"camera-{side}.toml"]
        (tmp_path / "camera.toml").write_text(text.replace("__RIG_ID__", "rig-host-7"))
        camera = load_config(tmp_path / "camera.toml", CameraConfig)
        index = replica_of("rig-host-7", replicas)
        host = f"stereo-decoder-{index}.stereo-decoder.stereo-pipeline.svc.cluster.local"
        assert camera.decoder_endpoint == f"tcp://{host}:5555"


def test_decoders_have_stable_names_behind_a_headless_service(objects):
    stateful = objects["StatefulSet", "stereo-decoder"]
    service = objects["Service", "stereo-decoder"]
    assert stateful["spec"]["serviceName"] == "stereo-decoder"
    assert service["spec"]["clusterIP"] == "None"
    ports = {p["name"]: p["port"] for p in service["spec"]["ports"]}
    assert ports == {"frames": 5555, "republish": 5556, "http": 8470}
    volumes = stateful["spec"]["template"]["spec"]["volumes"]
    # a hashed name: a new config (a new replica count) rolls the pods
    assert volumes[0]["configMap"]["name"].startswith("stereo-decoder-config-")


def test_every_pod_runs_as_10001_and_none_is_privileged(objects):
    for kind in ("StatefulSet", "DaemonSet"):
        (pod,) = [o["spec"]["template"]["spec"] for (k, _), o in objects.items() if k == kind]
        context = pod["securityContext"]
        assert (context["runAsUser"], context["runAsGroup"], context["fsGroup"]) == (10001,) * 3
        assert context["runAsNonRoot"] is True
        for container in pod.get("initContainers", []) + pod["containers"]:
            security = container.get("securityContext", {})
            assert not security.get("privileged", False), container["name"]
            assert security["allowPrivilegeEscalation"] is False
        assert not [v for v in pod["volumes"] if "hostPath" in v]


def test_cameras_get_only_their_video_device_and_the_new_ports(objects):
    pod = objects["DaemonSet", "stereo-camera"]["spec"]["template"]["spec"]
    devices = [
        c["resources"]["limits"].get(f"smarter-devices/video{i}")
        for i, c in enumerate(pod["containers"])
    ]
    assert devices == ["1", "1"] or devices == [1, 1]
    ports = [p["containerPort"] for c in pod["containers"] for p in c["ports"]]
    assert ports == [8471, 8472]


def test_readmes_apply_the_kustomization_with_k():
    for path in (REPO / "README.md", REPO / "deploy" / "README.md"):
        text = path.read_text()
        assert "apply -f deploy/k8s" not in text, path
    assert "kubectl apply -k deploy/k8s" in (REPO / "deploy" / "README.md").read_text()
