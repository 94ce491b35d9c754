"""The shipped deployments start: the decoder and a dsin camera as deploy/k8s and
deploy/systemd run them.

Both run sandboxed (:mod:`tests.integration.deploy_sandbox`): read-only install tree, writable
only what the deployment gives (a pod: /tmp; a unit: its state, cache and private /tmp
directories), the configs the deployment ships (changed only where a test must: loopback ports,
a synthetic source for the camera device, the dsin codec, small images) and the environment the
Dockerfiles and manifests, or the units, set. The configs turn CURVE on: the keys are generated
and placed as the deployment does (:mod:`tests.integration.deploy_keys`: a pod's Secrets copied
by its init container, a unit's state directory as docs/install.md installs it), and the
processes run as its user, so their own key checks pass or fail as they would there. numba must
find its cache where that environment says (``NUMBA_CACHE_DIR``), the camera's frames must be
decoded, and both must stop with 0.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from PIL import Image

from stereo_app.demo.processes import Child, health, scrape, stop, total
from stereo_app.demo.setup import pick_ports
from tests.integration.deploy_keys import RIG, generate_k8s_keys, pod_keys, unit_keys
from tests.integration.deploy_sandbox import (
    CONFIG_DIR,
    HOME,
    KEYS_DIR,
    POD,
    REPO,
    UNIT,
    Sandbox,
    base_environment,
    pod_environment,
    require_unshare,
    spawn_sandboxed,
    unit_env,
)
from tests.integration.secured_run import documented_keys_step, run_shell

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

DEPLOY = REPO / "deploy"
DECODER_0 = "stereo-decoder-0.stereo-decoder.stereo-pipeline.svc.cluster.local"
"""The headless Service's name of the decoder pod 0 (the camera's ``{index}`` 0)."""
SMALL_SOURCE = {"type": "synthetic", "width": 128, "height": 96}


KeysMaker = Callable[[Path, Path, Path], tuple[Path | None, Path | None]]
"""(scratch, decoder folder, camera folder) -> the decoder's and the camera's key folders for
:data:`KEYS_DIR` (None: the keys are in the state directory already)."""


@dataclass(frozen=True)
class Deployment:
    """How one deployment runs the decoder and a left camera: configs, environments, hosts,
    and how it gives them their keys."""

    sandbox: Sandbox
    decoder: dict
    camera: dict
    decoder_env: dict[str, str]
    camera_env: dict[str, str]
    decoder_host: str
    camera_host: str
    rig: str
    keys: KeysMaker

    def spawn(
        self, name: str, folder: Path, keys: Path | None, names: tuple[str, ...] = ()
    ) -> Child:
        """Start ``stereo-pipeline NAME --config .../NAME.toml`` (``decoder`` or ``camera``)
        sandboxed from ``folder`` as this deployment runs it (:func:`spawn_sandboxed`)."""
        host, env = (self.decoder_host, self.decoder_env)
        if name == "camera":
            host, env = (self.camera_host, self.camera_env)
        args = [name, "--config", f"{CONFIG_DIR}/{name}.toml"]
        return spawn_sandboxed(name, self.sandbox, folder, host, env, args, names, keys)


def _port(endpoint: str, port: int) -> str:
    """``endpoint`` (tcp://host:5555 or tcp://*:5555) on ``port`` instead."""
    assert endpoint.endswith(":5555"), endpoint
    return endpoint.removesuffix(":5555").replace("*", "127.0.0.1") + f":{port}"


def _adapt(decoder: dict, camera: dict, ports) -> None:
    """What a test must change: loopback ports, the camera's synthetic source and dsin codec."""
    decoder["receiver"]["bind"] = _port(decoder["receiver"]["bind"], ports.frames)
    decoder["http"] |= {"host": "127.0.0.1", "port": ports.decoder_http}
    if "keyframe_requests" in decoder:
        decoder["keyframe_requests"]["bind"] = "tcp://127.0.0.1:*"
    for sink in decoder["sinks"]:
        if sink["type"] == "zmq":
            sink["bind"] = f"tcp://127.0.0.1:{ports.right_metrics}"
    camera |= {"endpoint": _port(camera["endpoint"], ports.frames), "codec": "dsin"}
    camera |= {"metrics_port": ports.left_metrics, "metrics_addr": "127.0.0.1"}
    camera["source"] = dict(SMALL_SOURCE)


def k8s(ports) -> Deployment:
    """deploy/k8s: its configs (the camera's as its init container renders it for a node
    ``rig-host-0``), the images' ENV and the manifests' env, the pods' host names."""
    config = DEPLOY / "k8s" / "config"
    decoder = tomllib.loads(_pod_keys_path((config / "decoder.toml").read_text()))
    camera_text = (config / "camera-left.toml").read_text().replace("__RIG_ID__", RIG)
    camera = tomllib.loads(_pod_keys_path(camera_text))
    _adapt(decoder, camera, ports)
    docker, k8s_dir = DEPLOY / "docker", DEPLOY / "k8s"
    decoder_env = pod_environment(
        docker / "decoder.Dockerfile", k8s_dir / "20-decoder.yaml", "decoder"
    )
    # rigs/rig0 adds a name suffix, labels, its Secret and a node pin: no env, no config
    camera_env = pod_environment(
        docker / "camera.Dockerfile", k8s_dir / "camera" / "30-cameras.yaml", "camera-left"
    )
    return Deployment(
        POD, decoder, camera, decoder_env, camera_env, "stereo-decoder-0", RIG, RIG, k8s_keys
    )


def _pod_keys_path(config: str) -> str:
    """``config`` with its ``/keys/`` paths where the sandbox mounts the pod's key volumes."""
    return config.replace('"/keys/', f'"{KEYS_DIR}/')


def k8s_keys(scratch: Path, decoder_dir: Path, camera_dir: Path) -> tuple[Path, Path]:
    """The keys generated into a copy of deploy/k8s as deploy/README.md says, then what the
    decoder's and the left camera's containers see under /keys (Secrets, init containers)."""
    copy = scratch / "k8s"
    shutil.copytree(DEPLOY / "k8s", copy, ignore=shutil.ignore_patterns("keys"))
    generate_k8s_keys(copy)
    folders = pod_keys(copy, scratch / "pod")
    return folders["decoder"], folders["camera-left"]


def systemd(ports) -> Deployment:
    """deploy/systemd: the example configs the units name (configs/), the units' Environment=."""
    decoder = tomllib.loads((REPO / "configs" / "decoder.toml").read_text())
    camera = tomllib.loads((REPO / "configs" / "camera-left.toml").read_text())
    _adapt(decoder, camera, ports)
    units = DEPLOY / "systemd"
    decoder_env = base_environment() | unit_env(units / "stereo-decoder.service")
    camera_env = base_environment() | unit_env(units / "stereo-camera@.service")
    return Deployment(
        UNIT,
        decoder,
        camera,
        decoder_env,
        camera_env,
        "decoder-host",
        "rig-host",
        camera["rig_id"],
        systemd_keys,
    )


def systemd_keys(scratch: Path, decoder_dir: Path, camera_dir: Path) -> tuple[None, None]:
    """docs/install.md's "Keys" step run as written (on a trusted machine: ``scratch``), then
    each host's files installed into its state directory as its systemd steps say."""
    run_shell(documented_keys_step()[0], scratch)
    keys = scratch / "keys"
    cameras = [f"cameras/{p.name}" for p in (keys / "cameras").iterdir()]
    subscribers = [f"subscribers/{p.name}" for p in (keys / "subscribers").iterdir()]
    decoder = {"": ["decoder.key_secret"], "cameras": cameras, "subscribers": subscribers}
    unit_keys(keys, UNIT.host_path(decoder_dir, HOME), decoder)
    camera = {"": ["rig0-left.key_secret", "rig0-right.key_secret", "decoder.key"]}
    unit_keys(keys, UNIT.host_path(camera_dir, HOME), camera)
    return None, None


def write_config(folder: Path, name: str, config: dict) -> Path:
    """``folder`` with ``config`` as ``config/<name>``."""
    (folder / "config").mkdir(parents=True)
    (folder / "config" / name).write_text(tomli_w.dumps(config))
    return folder


def wait_for(predicate, timeout: float, what: str, children: list[Child]) -> None:
    """Poll until ``predicate()``; fail with the logs when a process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if any(child.poll() is not None for child in children):
            break
        time.sleep(0.5)
    logs = "\n".join(f"--- {c.name} (exit {c.poll()}):\n{log_text(c)[-3000:]}" for c in children)
    pytest.fail(f"waiting for {what}: gave up\n{logs}")


def log_text(child: Child) -> str:
    return Path(child.log.name).read_text(errors="replace")


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A folder the deployment's user may enter (pytest's tmp_path is root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix="stereo-deploy-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


@pytest.mark.parametrize("make", [k8s, systemd])
def test_decoder_and_dsin_camera_start_read_only_and_decode(tmp_path, scratch, make):
    require_unshare()
    ports = pick_ports()
    run = make(ports)
    decoder_dir = write_config(tmp_path / "decoder", "decoder.toml", run.decoder)
    camera_dir = write_config(tmp_path / "camera", "camera.toml", run.camera)
    decoder_keys, camera_keys = run.keys(scratch, decoder_dir, camera_dir)
    decoder = run.spawn("decoder", decoder_dir, decoder_keys)
    children = [decoder]
    try:
        ready = lambda: (health(ports.decoder_http) or {}).get("status") == "ok"  # noqa: E731
        wait_for(ready, 240, "the decoder's /healthz to say ok", children)
        children.append(run.spawn("camera", camera_dir, camera_keys, (DECODER_0,)))
        decoded = lambda: total(  # noqa: E731
            scrape(ports.decoder_http), "stereo_decoder_frames_decoded_total", rig=run.rig
        )
        wait_for(lambda: decoded() >= 3, 180, "3 frames of the dsin camera decoded", children)
        document = health(ports.decoder_http)
        checked = total(scrape(ports.decoder_http), "stereo_decoder_entropy_bounds_checked")
    finally:
        exits = {child.name: stop(child, 60) for child in reversed(children)}
    logs = {child.name: log_text(child) for child in children}
    assert exits == {"decoder": 0, "camera": 0}, json.dumps(logs, indent=1)[-4000:]
    assert document["entropy_bounds_checked"] is True and checked == 1.0
    caches = {}
    processes = (("decoder", decoder_dir, run.decoder_env), ("camera", camera_dir, run.camera_env))
    for name, folder, env in processes:
        # numba's cache is where the deployment says (not needed without it: no warning)
        caches[name] = run.sandbox.host_path(folder, env["NUMBA_CACHE_DIR"])
        assert caches[name].is_dir(), name
        assert "NUMBA_CACHE_DIR" not in logs[name], logs[name][-2000:]
    # the decoder compiled the rANS kernels (the camera only encodes) and cached them there
    assert list(caches["decoder"].rglob("rans._decode-*.nbi"))
    for sink in run.decoder["sinks"]:
        if sink["type"] == "png":  # relative: in the working directory (a unit's state dir)
            written = run.sandbox.host_path(decoder_dir, f"{HOME}/{sink['dir']}")
            assert list(written.rglob("*.png")), sink


def test_without_a_cache_folder_numba_compiles_and_says_so(tmp_path):
    """No NUMBA_CACHE_DIR and nowhere else numba may write (a pod): a dsin bitstream still
    decodes (the kernels compiled at start, uncached) and one warning names NUMBA_CACHE_DIR."""
    require_unshare()
    pod = tmp_path / "pod"
    (pod / "config").mkdir(parents=True)
    pixels = np.random.default_rng(5).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(pod / "config" / "left.png")
    encode = [sys.executable, "-m", "stereo_app.cli", "encode", str(pod / "config" / "left.png")]
    subprocess.run([*encode, "-o", str(pod / "config" / "left.sic")], check=True, timeout=120)
    env = k8s(pick_ports()).decoder_env
    env.pop("NUMBA_CACHE_DIR", None)  # where the deployment sets it
    args = ["decode", f"{CONFIG_DIR}/left.sic", "-o", "/tmp/left.png", "--device", "cpu"]
    child = spawn_sandboxed("decode", POD, pod, "stereo-decoder-0", env, args)
    code = stop(child, 180, sig=None)
    log = log_text(child)
    assert code == 0, log[-3000:]
    assert Image.open(POD.host_path(pod, "/tmp/left.png")).size == (64, 48)
    assert log.count("NUMBA_CACHE_DIR") == 1, log[-3000:]
