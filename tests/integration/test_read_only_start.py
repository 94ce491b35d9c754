"""The shipped deployments start: the decoder and a dsin camera as deploy/k8s and
deploy/systemd run them, then an H.264 camera (``configs/camera-h264.toml``) in the dsin
camera's place, as docs/operations.md ("Moving cameras to a video codec") switches one.

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

The H.264 camera is the shipped config as it is (its codec, ``[video]`` with ``encoder =
"auto"``, its synthetic source) but for the loopback endpoint and metrics port and the
deployment's rig id and key paths; it must open an encoder, stream protocol version 2 that the
same decoder decodes at receive (``stream_decode_seconds{codec="h264"}``) and hands on
(``frames_decoded_total`` of its rig), stop with 0 and write nothing: no home, cache or /tmp
files (FFmpeg and x264 need no writable folder).
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
H264_CONFIG = REPO / "configs" / "camera-h264.toml"
DECODED = "stereo_decoder_frames_decoded_total"


KeysMaker = Callable[[Path, Path, Path], tuple[Path | None, Path | None]]
"""(scratch, decoder folder, camera folder) -> the decoder's and the camera's key folders for
:data:`KEYS_DIR` (None: the keys are in the state directory already)."""


@dataclass(frozen=True)
class Deployment:
    """How one deployment runs the decoder and a left camera (dsin, then H.264): configs,
    environments, hosts, and how it gives them their keys."""

    sandbox: Sandbox
    decoder: dict
    camera: dict
    h264: dict
    decoder_env: dict[str, str]
    camera_env: dict[str, str]
    decoder_host: str
    camera_host: str
    rig: str
    keys: KeysMaker

    def spawn(
        self, name: str, folder: Path, keys: Path | None, names: tuple[str, ...] = ()
    ) -> Child:
        """Start ``stereo-pipeline decoder|camera --config .../NAME.toml`` (NAME ``decoder``,
        ``camera`` or ``camera-h264``) sandboxed from ``folder`` as this deployment runs it
        (:func:`spawn_sandboxed`)."""
        command, host, env = ("decoder", self.decoder_host, self.decoder_env)
        if name.startswith("camera"):
            command, host, env = ("camera", self.camera_host, self.camera_env)
        args = [command, "--config", f"{CONFIG_DIR}/{name}.toml"]
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


def _h264(camera: dict, ports) -> dict:
    """configs/camera-h264.toml in place of the left camera ``camera`` (adapted): the loopback
    endpoint, the camera's metrics port (the dsin camera has stopped), the deployment's rig id
    and key paths; all else as shipped."""
    h264 = tomllib.loads(H264_CONFIG.read_text())
    h264["endpoint"] = _port(h264["endpoint"], ports.frames)
    keep = ("metrics_port", "metrics_addr", "rig_id", "secret_key", "server_key")
    return h264 | {key: camera[key] for key in keep}


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
        POD,
        decoder,
        camera,
        _h264(camera, ports),
        decoder_env,
        camera_env,
        "stereo-decoder-0",
        RIG,
        RIG,
        k8s_keys,
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
        _h264(camera, ports),
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


def decoded(ports, rig: str) -> float:
    """Views of ``rig`` the decoder has decoded and handed to its sinks."""
    return total(scrape(ports.decoder_http), DECODED, rig=rig)


def settled(ports, rig: str) -> bool:
    """Every frame of ``rig`` the decoder received is decoded or dropped (none in flight)."""
    samples = scrape(ports.decoder_http)
    received = total(samples, "stereo_decoder_frames_received_total", rig=rig)
    done = total(samples, DECODED, rig=rig)
    return received > 0 and received == done + total(
        samples, "stereo_decoder_frames_dropped_total", rig=rig
    )


def files_under(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``folder``: relative path -> (size, mtime in ns)."""
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in folder.rglob("*")
    }


def changed(before: dict, after: dict) -> list[str]:
    """The paths of :func:`files_under` that came, went or changed from ``before`` to ``after``."""
    return sorted(
        path for path in before.keys() | after.keys() if before.get(path) != after.get(path)
    )


def switch_to_h264(
    run: Deployment, ports, camera_dir: Path, keys: Path | None, children: list[Child]
) -> dict:
    """Stop the dsin camera (``children``: decoder, camera) and start the H.264 camera in its
    place (the same folders and keys); wait for 3 of its frames decoded at receive and handed
    on, then stop it. Its ``/healthz`` document; it must have written nothing."""
    decoder, dsin = children
    stop(dsin, 60)
    wait_for(lambda: settled(ports, run.rig), 120, "the dsin camera's frames done", [decoder])
    before = decoded(ports, run.rig)
    written = files_under(camera_dir / "rw")
    h264 = run.spawn("camera-h264", camera_dir, keys, (DECODER_0,))
    children.append(h264)
    streamed = lambda: total(  # noqa: E731
        scrape(ports.decoder_http), "stereo_decoder_stream_decode_seconds_count", codec="h264"
    )
    done = lambda: streamed() >= 3 and decoded(ports, run.rig) >= before + 3  # noqa: E731
    wait_for(done, 120, "3 frames of the H.264 camera decoded", [decoder, h264])
    document = health(run.h264["metrics_port"])
    stop(h264, 60)
    wrote = changed(written, files_under(camera_dir / "rw"))
    assert not wrote, f"the H.264 camera wrote in its writable folders: {wrote}"
    return document


@pytest.mark.parametrize("make", [k8s, systemd])
def test_decoder_dsin_and_h264_cameras_start_read_only_and_decode(tmp_path, scratch, make):
    require_unshare()
    ports = pick_ports()
    run = make(ports)
    decoder_dir = write_config(tmp_path / "decoder", "decoder.toml", run.decoder)
    camera_dir = write_config(tmp_path / "camera", "camera.toml", run.camera)
    (camera_dir / "config" / "camera-h264.toml").write_text(tomli_w.dumps(run.h264))
    decoder_keys, camera_keys = run.keys(scratch, decoder_dir, camera_dir)
    decoder = run.spawn("decoder", decoder_dir, decoder_keys)
    children = [decoder]
    try:
        ready = lambda: (health(ports.decoder_http) or {}).get("status") == "ok"  # noqa: E731
        wait_for(ready, 240, "the decoder's /healthz to say ok", children)
        children.append(run.spawn("camera", camera_dir, camera_keys, (DECODER_0,)))
        dsin = lambda: decoded(ports, run.rig) >= 3  # noqa: E731
        wait_for(dsin, 180, "3 frames of the dsin camera decoded", children)
        document = health(ports.decoder_http)
        checked = total(scrape(ports.decoder_http), "stereo_decoder_entropy_bounds_checked")
        video = switch_to_h264(run, ports, camera_dir, camera_keys, children)
    finally:
        exits = {child.name: stop(child, 60) for child in reversed(children)}
    logs = {child.name: log_text(child) for child in children}
    tails = json.dumps(logs, indent=1)[-4000:]
    assert exits == {"decoder": 0, "camera": 0, "camera-h264": 0}, tails
    assert document["entropy_bounds_checked"] is True and checked == 1.0
    # an encoder opened (libx264 here: auto passed the hardware ones over) and keyframes went
    assert video["codec"] == "h264" and video["video"]["encoder"], video
    assert video["video"]["keyframes_sent"] >= 1, video
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
