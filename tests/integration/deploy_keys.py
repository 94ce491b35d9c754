"""CURVE keys as the deployments give them to their processes.

:func:`generate_k8s_keys` runs ``keys generate`` into the kustomization's folders (deploy/k8s,
deploy/README.md); :func:`pod_keys` lays out what a pod's container sees under ``/keys``: the
Secret volume as the kubelet writes it with ``fsGroup`` (owned by root, group-readable), the
manifest's init container ``keys`` run on it as the pod's user (:data:`USER_ID`), the ConfigMaps
of public certificates beside it. :func:`unit_keys` installs them as docs/install.md does for a
systemd host (the state directory's ``keys/``, owned by ``stereo``, secret keys 0600).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from pipeline.keygen import main as keys_cli
from pipeline.wire.protocol import SIDES
from tests.integration.deploy_sandbox import USER_ID

RIG = "rig0"
"""The rig of deploy/k8s/rigs/rig0 and of the example configs."""


def generate_k8s_keys(folder: Path) -> None:
    """The keys deploy/README.md has the operator generate into a copy of deploy/k8s
    (``folder``): the decoder's and a subscriber's in ``keys/``, the rig's cameras' in
    ``rigs/rig0/keys/``."""
    for name, out, side in [
        ("decoder", "keys", None),
        ("viewer1", "keys", None),
        (f"{RIG}-left", f"rigs/{RIG}/keys", "left"),
        (f"{RIG}-right", f"rigs/{RIG}/keys", "right"),
    ]:
        args = ["generate", "--out", str(folder / out), "--name", name]
        assert keys_cli(args + (["--rig", RIG, "--side", side] if side else [])) == 0


def init_command(manifest: Path, init: str = "keys") -> str:
    """The shell script (``sh -c``) of the init container ``init`` in ``manifest``."""
    text = manifest.read_text()
    block = text[text.index(f"- name: {init}\n") :]
    return json.loads(re.search(r"command: (\[.*\])\n", block)[1])[-1]


def secret_volume(folder: Path, files: dict[str, Path]) -> Path:
    """``folder`` as the kubelet mounts a Secret of ``files`` (key -> source) with ``defaultMode:
    0400`` and the pod's ``fsGroup``: owned by root, group :data:`USER_ID`, mode 0440."""
    folder.mkdir(parents=True)
    for key, source in files.items():
        shutil.copyfile(source, folder / key)
        os.chown(folder / key, 0, USER_ID)
        (folder / key).chmod(0o440)
    return folder


def run_init(script: str, mounts: dict[str, Path]) -> None:
    """Run an init container's ``script`` as the pod's user and group (:data:`USER_ID`, the
    ``fsGroup`` its only other group), its mount paths replaced by the host folders ``mounts``
    (an emptyDir: mode 0777, as the kubelet makes it)."""
    for path in sorted(mounts, key=len, reverse=True):
        script = script.replace(path, str(mounts[path]))
    as_pod_user = ["setpriv", f"--reuid={USER_ID}", f"--regid={USER_ID}", f"--groups={USER_ID}"]
    command = [*as_pod_user, "/bin/sh", "-c", script]
    subprocess.run(command, check=True, timeout=60, env={"PATH": "/usr/bin:/bin"})


def pod_keys(k8s: Path, root: Path) -> dict[str, Path]:
    """What the decoder's and the left camera's containers see under ``/keys`` (container name
    -> folder under ``root``, which the pod's user must be able to enter), from the keys in a
    copy of deploy/k8s (``k8s``, :func:`generate_k8s_keys`): ``own/`` written by the
    manifest's init container from the Secret, the ConfigMaps' public certificates beside it."""
    decoder, left, right = root / "decoder", root / "camera-left", root / "camera-right"
    keys, rig_keys = k8s / "keys", k8s / "rigs" / RIG / "keys"
    for own in (decoder / "own", left / "own", right / "own"):
        own.mkdir(parents=True)
        own.chmod(0o777)
    secret = secret_volume(
        root / "decoder-secret", {"decoder.key_secret": keys / "decoder.key_secret"}
    )
    run_init(init_command(k8s / "20-decoder.yaml"), {"/secret": secret, "/keys": decoder / "own"})
    sides = {f"{side}.key_secret": rig_keys / f"{RIG}-{side}.key_secret" for side in SIDES}
    rig_secret = secret_volume(root / "rig-secret", sides)
    mounts = {"/secret": rig_secret, "/keys-left": left / "own", "/keys-right": right / "own"}
    run_init(init_command(k8s / "camera" / "30-cameras.yaml"), mounts)
    certificates = {
        decoder / "cameras": [rig_keys / f"{RIG}-left.key", rig_keys / f"{RIG}-right.key"],
        decoder / "subscribers": [keys / "viewer1.key"],
        left / "decoder": [keys / "decoder.key"],
    }
    for folder, files in certificates.items():  # ConfigMaps: mode 0644
        folder.mkdir()
        for source in files:
            shutil.copyfile(source, folder / source.name)
            (folder / source.name).chmod(0o644)
    return {"decoder": decoder, "camera-left": left}


def unit_keys(keys: Path, state: Path, files: dict[str, list[str]]) -> None:
    """Install ``files`` (folder under ``keys/`` -> paths in ``keys``, the folder the "Keys" step
    of docs/install.md generates) into the state directory ``state`` as its systemd steps do:
    ``keys/`` and its folders 0750, every file owned by ``stereo`` (:data:`USER_ID`), secret
    keys 0600, public certificates 0644."""
    for folder, names in files.items():
        target = state / "keys" / folder
        target.mkdir(parents=True, exist_ok=True)
        for name in names:
            installed = target / Path(name).name
            shutil.copyfile(keys / name, installed)
            installed.chmod(0o600 if name.endswith(".key_secret") else 0o644)
    for path in [state / "keys", *(state / "keys").rglob("*")]:
        os.chown(path, USER_ID, USER_ID)
        if path.is_dir():
            path.chmod(0o750)
