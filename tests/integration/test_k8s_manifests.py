"""deploy/k8s rendered by kustomize (``kubectl kustomize``): the replica count in one place,
configs the daemons accept, stable decoder names the cameras' template reaches, pods that run as
uid 10001, not privileged, with no API token, and CURVE keys where each process needs them and
nowhere else (the Secrets and ConfigMaps are materialized into folders and the pods' init
commands run on them).

Without kubectl (1.27 or newer: ``replicas:``, ``replacements:`` and ``labels:`` of kustomize
5) the tests skip, unless ``STEREO_REQUIRE_KUBECTL=1`` (set by ``.ci/run``): then they fail.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from camera_nodes.config import CameraConfig
from decoder_node.config import DecoderConfig
from pipeline import security
from pipeline.config import load_config
from pipeline.sharding import replica_of
from tests.integration.deploy_keys import RIG, generate_k8s_keys

REPO = Path(__file__).resolve().parents[2]
KUBECTL = shutil.which("kubectl")
REQUIRE_ENV = "STEREO_REQUIRE_KUBECTL"
MIN_KUBECTL = (1, 27)


def require_kubectl() -> str:
    """kubectl's path if it is new enough; skips (fails under ``STEREO_REQUIRE_KUBECTL=1``)."""
    reason = "kubectl is not installed"
    if KUBECTL is not None:
        text = subprocess.run(
            [KUBECTL, "version", "--client", "-o", "json"],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
        version = json.loads(text or "{}").get("clientVersion", {})
        found = (int(version.get("major", 0)), int(re.sub(r"\D", "", version.get("minor", "0"))))
        if found >= MIN_KUBECTL:
            return KUBECTL
        reason = f"kubectl {found} is older than {MIN_KUBECTL} (the manifests' kustomize)"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_ENV}=1 requires it (.ci/run installs it)")
    pytest.skip(reason)


def render(kubectl: str, folder: Path) -> dict[tuple[str, str], dict]:
    """The kustomization's objects by (kind, name less its hash suffix), as JSON (``label
    --local`` converts them without a cluster)."""
    yaml = subprocess.run(
        [kubectl, "kustomize", str(folder)], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    text = subprocess.run(
        [kubectl, "label", "--local", "-f", "-", "-o", "json", "rendered=true"],
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
        name = obj["metadata"]["name"]
        if obj["kind"] in ("ConfigMap", "Secret"):  # generated: a content hash suffix
            name = re.sub(r"-[a-z0-9]{10}$", "", name)
        objects[obj["kind"], name.removesuffix("-config")] = obj
    return objects


@pytest.fixture(scope="module")
def objects(tmp_path_factory) -> dict[tuple[str, str], dict]:
    kubectl = require_kubectl()
    folder = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(REPO / "deploy" / "k8s", folder, ignore=shutil.ignore_patterns("keys"))
    generate_k8s_keys(folder)
    return render(kubectl, folder)


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
    assert ports == {"frames": 5555, "republish": 5556, "requests": 5557, "http": 8470}
    volumes = stateful["spec"]["template"]["spec"]["volumes"]
    # a hashed name: a new config (a new replica count) rolls the pods
    assert volumes[0]["configMap"]["name"].startswith("stereo-decoder-config-")


def pods(objects) -> dict[str, dict]:
    """Every pod template's spec by its workload's name."""
    return {
        name: o["spec"]["template"]["spec"]
        for (kind, name), o in objects.items()
        if kind in ("StatefulSet", "DaemonSet")
    }


def test_every_pod_runs_as_10001_and_none_is_privileged(objects):
    assert set(pods(objects)) == {"stereo-decoder", f"stereo-camera-{RIG}"}
    for pod in pods(objects).values():
        assert pod["automountServiceAccountToken"] is False
        context = pod["securityContext"]
        assert (context["runAsUser"], context["runAsGroup"], context["fsGroup"]) == (10001,) * 3
        assert context["runAsNonRoot"] is True
        for container in pod.get("initContainers", []) + pod["containers"]:
            security = container.get("securityContext", {})
            assert not security.get("privileged", False), container["name"]
            assert security["allowPrivilegeEscalation"] is False
        assert not [v for v in pod["volumes"] if "hostPath" in v]


def test_cameras_get_only_their_video_device_and_the_new_ports(objects):
    pod = pods(objects)[f"stereo-camera-{RIG}"]
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


def test_decoder_tolerates_the_gpu_taint_and_a_drain_takes_one_at_a_time(objects):
    pod = pods(objects)["stereo-decoder"]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod[
        "tolerations"
    ]
    budget = objects["PodDisruptionBudget", "stereo-decoder"]["spec"]
    selector = objects["StatefulSet", "stereo-decoder"]["spec"]["selector"]
    assert budget["selector"] == selector and budget["maxUnavailable"] == 1


def test_cameras_are_ready_on_healthz_and_alive_on_metrics(objects):
    for container in pods(objects)[f"stereo-camera-{RIG}"]["containers"]:
        (port,) = [p["name"] for p in container["ports"]]
        assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": port}
        # /healthz says "stalled" while the decoder is away: that must not restart a camera
        assert container["livenessProbe"]["httpGet"] == {"path": "/metrics", "port": port}


def ingress(objects, app: str) -> dict[int, list[dict]]:
    """The NetworkPolicy of pods ``app``: port -> the peers allowed to reach it."""
    policy = objects["NetworkPolicy", app]["spec"]
    assert policy["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": app}
    assert policy["policyTypes"] == ["Ingress"]
    return {port["port"]: rule["from"] for rule in policy["ingress"] for port in rule["ports"]}


def test_network_policies_admit_cameras_subscribers_and_prometheus_only(objects):
    prometheus = {"app.kubernetes.io/name": "prometheus"}
    decoder = ingress(objects, "stereo-decoder")
    assert sorted(decoder) == [5555, 5556, 5557, 8470]
    cameras_only = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "stereo-camera"}}}
    assert decoder[5555] == decoder[5557] == [cameras_only]  # frames in, requests out
    assert [p["podSelector"]["matchLabels"] for p in decoder[5556]] == [
        {"stereo-pipeline/subscriber": "true"}
    ]
    assert [p["podSelector"]["matchLabels"] for p in decoder[8470]] == [prometheus]
    cameras = ingress(objects, "stereo-camera")
    assert sorted(cameras) == [8471, 8472]
    assert all(
        [p["podSelector"]["matchLabels"] for p in peers] == [prometheus]
        for peers in cameras.values()
    )


def materialize(objects, pod: dict, root: Path) -> dict[str, Path]:
    """Each volume of ``pod`` as a folder under ``root`` (ConfigMaps and Secrets written out
    with the modes the kubelet gives them, emptyDirs empty), then its init containers' commands
    run on them with ``/bin/sh``; volume name -> folder."""
    folders = {}
    for volume in pod["volumes"]:
        folder = folders[volume["name"]] = root / volume["name"]
        folder.mkdir(parents=True)
        source = volume.get("configMap") or volume.get("secret")
        if source is None:
            continue
        name = source.get("name") or source["secretName"]
        kind = "ConfigMap" if "configMap" in volume else "Secret"
        (obj,) = [o for (k, _), o in objects.items() if k == kind and o["metadata"]["name"] == name]
        for key, value in obj["data"].items():
            path = folder / key
            path.write_bytes(value.encode() if kind == "ConfigMap" else base64.b64decode(value))
            # what the kubelet does with fsGroup: group-owned and group-readable
            path.chmod(source.get("defaultMode", 0o644) | 0o440)
    for init in pod.get("initContainers", []):
        script = init["command"][-1]
        for mount in sorted(init["volumeMounts"], key=lambda m: -len(m["mountPath"])):
            script = script.replace(mount["mountPath"], str(folders[mount["name"]]))
        env = {e["name"]: RIG for e in init.get("env", [])}  # NODE_NAME: the rig's node
        subprocess.run(["/bin/sh", "-c", script], check=True, env={"PATH": "/usr/bin:/bin", **env})
    return folders


def container_path(container: dict, folders: dict[str, Path], path: Path) -> Path:
    """Where ``path`` in ``container`` is among the materialized volumes (or fail)."""
    for mount in sorted(container["volumeMounts"], key=lambda m: -len(m["mountPath"])):
        if path.is_relative_to(mount["mountPath"]):
            return folders[mount["name"]] / path.relative_to(mount["mountPath"])
    raise AssertionError(f"{container['name']}: {path} is on no volume")


def secret_keys_in(container: dict, folders: dict[str, Path]) -> set[str]:
    """The secret keys (``secret-key = ...`` lines) in every file ``container`` mounts."""
    found = set()
    for mount in container["volumeMounts"]:
        for path in folders[mount["name"]].rglob("*"):
            found |= set(re.findall(r'secret-key = "(.+)"', path.read_text(errors="replace")))
    return found


def private_key_file(path: Path) -> Path:
    """``path``, checked to be this user's and readable by no one else (the key check)."""
    assert path.stat().st_uid == os.getuid(), path
    assert path.stat().st_mode & 0o077 == 0, (path, oct(path.stat().st_mode))
    return path


def test_each_camera_holds_only_its_own_secret_key_and_the_decoder_allows_both(objects, tmp_path):
    camera_pod = pods(objects)[f"stereo-camera-{RIG}"]
    folders = materialize(objects, camera_pod, tmp_path / "camera")
    rendered = folders["rendered"]
    publics = {}
    for container in camera_pod["containers"]:
        config = load_config(rendered / Path(container["args"][-1]).name, CameraConfig)
        assert config.rig_id == RIG
        secret = private_key_file(container_path(container, folders, config.secret_key))
        public, key = security.load_keypair("secret_key", secret)
        publics[public] = config.side
        server = security.load_public(
            "server_key", container_path(container, folders, config.server_key)
        )
        assert secret_keys_in(container, folders) == {key.decode()}, container["name"]
    assert sorted(publics.values()) == ["left", "right"]

    decoder_pod = pods(objects)["stereo-decoder"]
    (container,) = decoder_pod["containers"]
    folders = materialize(objects, decoder_pod, tmp_path / "decoder")
    config = load_config(folders["config"] / "decoder.toml", DecoderConfig).security
    assert config.enabled
    secret = private_key_file(container_path(container, folders, config.secret_key))
    public, key = security.load_keypair("security.secret_key", secret)
    assert public == server  # the cameras' server_key is this decoder's
    assert secret_keys_in(container, folders) == {key.decode()}
    allowed = security.camera_allowlist(
        "security.cameras", container_path(container, folders, config.cameras)
    )
    assert allowed == {key: security.CameraKey(RIG, side) for key, side in publics.items()}
    subscribers = container_path(container, folders, config.subscribers)
    assert [p.name for p in subscribers.iterdir()] == ["viewer1.key"]


def test_the_camera_secret_reaches_only_its_rigs_node(objects):
    daemon = objects["DaemonSet", f"stereo-camera-{RIG}"]["spec"]["template"]["spec"]
    assert daemon["nodeSelector"]["kubernetes.io/hostname"] == RIG
    secret = objects["Secret", f"stereo-camera-keys-{RIG}"]
    for text in secret["data"].values():
        assert re.search(rf"rig = \"?{RIG}\"?\n", base64.b64decode(text).decode())
    volumes = [v["secret"]["secretName"] for v in daemon["volumes"] if "secret" in v]
    assert volumes == [secret["metadata"]["name"]]


def test_the_checked_in_kustomization_does_not_render_without_keys(tmp_path):
    kubectl = require_kubectl()
    folder = tmp_path / "k8s"
    shutil.copytree(REPO / "deploy" / "k8s", folder, ignore=shutil.ignore_patterns("keys"))
    done = subprocess.run(
        [kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0 and "keys/" in done.stderr
