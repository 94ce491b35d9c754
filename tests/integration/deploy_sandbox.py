"""Start a ``stereo-pipeline`` process as a deploy/k8s pod or a deploy/systemd unit runs it.

In a private mount and UTS namespace (``unshare``; needs root): the root file system read-only
(``readOnlyRootFilesystem``, ``ProtectSystem=strict``: the install tree, the source on PYTHONPATH
and the venv, is read-only), writable only the folders the deployment gives (:class:`Sandbox`:
the pod's emptyDir on /tmp; the unit's PrivateTmp, state and cache directories), the home
``/var/lib/stereo-pipeline`` (read-only in a pod, the state directory of a unit), the configs
and a pod's keys read-only, the pod's or host's name, the deployment's user (:data:`USER_ID`)
and only the environment the deployment sets.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from stereo_app.demo.processes import Child

REPO = Path(__file__).resolve().parents[2]
HOME = "/var/lib/stereo-pipeline"
"""The user's home and working directory (deploy/docker ``useradd --home-dir`` and ``WORKDIR``,
the units' ``HOME`` and ``WorkingDirectory``)."""
CONFIG_DIR = "/var/lib/stereo-pipeline-config"
"""Where the configs are, read-only (the deployments use /etc/stereo-pipeline, which this host
has no mount point for)."""
KEYS_DIR = "/var/lib/stereo-pipeline-keys"
"""Where a pod's ``/keys`` volumes are, read-only (no mount point here either: the test
rewrites the configs' ``/keys/`` paths to it). A unit's keys are in its state directory."""
USER_ID = 10001
"""The uid and gid the processes run as: the images' ``stereo`` (``USER 10001:10001``), the
pods' ``runAsUser``, the units' ``User=stereo`` (docs/install.md creates it with this uid)."""


@dataclass(frozen=True)
class Sandbox:
    """The folders a deployment lets its process write; all else is read-only."""

    writable: tuple[str, ...]

    def host_path(self, folder: Path, path: str) -> Path:
        """Where ``path`` (in a writable folder of the sandbox) is on this host."""
        for top in self.writable:
            if path == top or path.startswith(top + "/"):
                return folder / "rw" / _slug(top) / path[len(top) :].lstrip("/")
        raise ValueError(f"{path} is in no writable folder of {self.writable}")


POD = Sandbox(writable=("/tmp",))
"""deploy/k8s: ``readOnlyRootFilesystem``, an emptyDir on /tmp."""
UNIT = Sandbox(writable=(HOME, "/var/cache/stereo-pipeline", "/tmp"))
"""deploy/systemd: ``ProtectSystem=strict``, ``StateDirectory=``, ``CacheDirectory=``,
``PrivateTmp=``."""


def _slug(path: str) -> str:
    return path.strip("/").replace("/", "_")


def require_unshare() -> None:
    """Skip unless ``unshare`` can make mount and UTS namespaces; under ``CI`` fail instead."""
    if shutil.which("unshare") is not None:
        probe = ["unshare", "--mount", "--uts", "true"]
        if subprocess.run(probe, capture_output=True, timeout=30).returncode == 0:
            return
    reason = "unshare --mount --uts is not usable here (it needs root)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run this test")
    pytest.skip(reason)


def dockerfile_env(dockerfile: Path) -> dict[str, str]:
    """The ``ENV KEY=VALUE ...`` settings of a Dockerfile's last stage (PATH left out: the test
    runs the venv's python by its path)."""
    text = dockerfile.read_text().replace("\\\n", " ")
    last_stage = text.split("\nFROM ")[-1]
    env: dict[str, str] = {}
    for line in last_stage.splitlines():
        if line.startswith("ENV "):
            env |= dict(token.split("=", 1) for token in line.split()[1:])
    env.pop("PATH", None)
    return env


def manifest_env(manifest: Path, container: str) -> dict[str, str]:
    """The ``env`` entries (``- {name: X, value: Y}``) of ``container`` in a manifest."""
    text = manifest.read_text()
    start = text.index(f"- name: {container}\n")
    block = re.split(r"\n\s*- name: ", text[start + 2 :], maxsplit=1)[0]
    return dict(re.findall(r"- \{name: (\w+), value: ([^},\s]+)\}", block))


def unit_env(unit: Path) -> dict[str, str]:
    """The ``Environment=KEY=VALUE ...`` settings of a systemd unit."""
    env: dict[str, str] = {}
    for line in unit.read_text().splitlines():
        if line.startswith("Environment="):
            env |= dict(token.split("=", 1) for token in line.removeprefix("Environment=").split())
    return env


def base_environment() -> dict[str, str]:
    """What every sandboxed process gets besides its deployment's settings: PATH, HOME, the
    source on PYTHONPATH (deployments install it) and one OpenMP thread (a shared CPU)."""
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": HOME, "PYTHONPATH": str(REPO)}
    return env | {"OMP_NUM_THREADS": "1"}


def pod_environment(dockerfile: Path, manifest: Path, container: str) -> dict[str, str]:
    """What a container's process sees: the image's ENV and the manifest's env (and the base)."""
    return base_environment() | dockerfile_env(dockerfile) | manifest_env(manifest, container)


def _script(sandbox: Sandbox, folder: Path, hostname: str, keys: Path | None) -> str:
    """The shell that sets up the mounts, then runs ``"$@"`` in :data:`HOME` as :data:`USER_ID`.
    ``folder/config`` holds the configs, ``folder/hosts`` is /etc/hosts, ``folder/rw/*`` the
    writable folders, ``keys`` (if any) is :data:`KEYS_DIR`. Remounts are per mount (``bind``)
    or of the namespace's own tmpfs, so the host's mounts stay as they are; /tmp is bound last
    (``folder`` is under it)."""
    quoted = {top: shlex.quote(str(folder / "rw" / _slug(top))) for top in sandbox.writable}
    created = " ".join(top for top in sandbox.writable if top != "/tmp")
    if keys is not None:
        quoted[KEYS_DIR] = shlex.quote(str(keys))
        created += f" {KEYS_DIR}"
    held = _code_under_tmp()
    lines = [
        "set -e",
        "mount --make-rprivate /",
        f"hostname {shlex.quote(hostname)}",
        *[
            f"mount -t tmpfs -o mode=0755,size=16m sandbox {top}"
            for top in ("/var/lib", "/var/cache")
        ],
        f"mkdir -p {HOME} {CONFIG_DIR} {created}",
        f"cp {shlex.quote(str(folder / 'config'))}/* {CONFIG_DIR}/",
        *[f"mkdir -p {hold} && mount --bind {code} {hold}" for code, hold in held],
        "mount -o remount,ro /var/lib && mount -o remount,ro /var/cache",
        f"mount --bind {shlex.quote(str(folder / 'hosts'))} /etc/hosts",
        *[f"mount --bind {quoted[top]} {top}" for top in sorted(quoted, key=lambda t: t == "/tmp")],
        *[
            f"mkdir -p {code} && mount --bind {hold} {code} && mount -o remount,ro,bind {code}"
            for code, hold in held
        ],
        *([f"mount -o remount,ro,bind {KEYS_DIR}"] if keys is not None else []),
        "mount -o remount,ro,bind /",
        *[_refuse_writable(code) for code in (REPO, Path(sys.prefix))],
        f"cd {HOME}",
        f'exec setpriv --reuid={USER_ID} --regid={USER_ID} --clear-groups "$@"',
    ]
    return "\n".join(lines)


def _code_under_tmp() -> list[tuple[str, str]]:
    """(path, holder) for the checkout and venv if they are under /tmp (a CI clone may be),
    which the sandbox's own /tmp would hide: each is bound to a holder in the namespace's
    /var/cache before /tmp is replaced, and bound back at its path in the new /tmp after
    (read-only: :func:`_refuse_writable` checks)."""
    codes = [code for code in (REPO, Path(sys.prefix)) if code.is_relative_to("/tmp")]
    return [(shlex.quote(str(code)), f"/var/cache/.code{i}") for i, code in enumerate(codes)]


def _refuse_writable(code: Path) -> str:
    """A line that stops the sandbox (exit 97) if ``code`` is still writable: the read-only
    remount of / covers only its own mount, and a checkout or venv on another would be open."""
    probe = shlex.quote(str(code / ".sandbox-write-probe"))
    message = shlex.quote(f"sandbox: {code} is writable (a separate mount?)")
    return f"if touch {probe} 2>/dev/null; then rm -f {probe}; echo {message} >&2; exit 97; fi"


def spawn_sandboxed(
    name: str,
    sandbox: Sandbox,
    folder: Path,
    hostname: str,
    env: dict[str, str],
    args: list[str],
    names: tuple[str, ...] = (),
    keys: Path | None = None,
) -> Child:
    """Run ``stereo-pipeline ARGS`` in ``sandbox`` made from ``folder`` (its ``config`` files
    appear in :data:`CONFIG_DIR`, ``keys`` in :data:`KEYS_DIR`; :meth:`Sandbox.host_path` says
    where its writable folders are, owned by :data:`USER_ID`), log in ``folder/<name>.log``.
    ``names`` (a Service's DNS names) resolve to 127.0.0.1, as ``hostname`` and localhost do."""
    for top in sandbox.writable:
        (folder / "rw" / _slug(top)).mkdir(parents=True, exist_ok=True)
        os.chown(folder / "rw" / _slug(top), USER_ID, USER_ID)
    loopback = " ".join(("localhost", hostname, *names))
    (folder / "hosts").write_text(f"127.0.0.1 {loopback}\n::1 localhost\n")
    log = (folder / f"{name}.log").open("wb")
    script = _script(sandbox, folder, hostname, keys)
    namespaces = ["unshare", "--mount", "--uts", "sh", "-c", script, "sh"]
    cmd = [*namespaces, sys.executable, "-m", "stereo_app.cli", *args]
    proc = subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
    )
    return Child(name, proc, log)
