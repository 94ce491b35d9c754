"""CURVE keys for the cameras, the decoder and its subscribers (``docs/security.md``).

Keys are ZeroMQ certificate files (``stereo-pipeline keys generate``, :mod:`pipeline.keygen`):
``NAME.key`` holds the public key, ``NAME.key_secret`` both keys. A secret file is used only if
it belongs to the user that runs the process (or root) and no other user may read it (mode 0600
or stricter). A camera's certificate names its rig and side in its metadata (``rig = "rig0"``,
``side = "left"``); the decoder reads its allowlist of cameras from a folder of such public
certificates and accepts a key's frames only for its rig and side. A certificate of the older
version names a rig alone: it may still send either side of its rig (a legacy key, warned
about). The PUB sink's subscribers are a second folder of certificates, which name nothing.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import zmq.auth

from pipeline.config import ConfigError
from pipeline.keygen import generate
from pipeline.wire.protocol import ID_PATTERN, SIDES

__all__ = [
    "CameraKey",
    "camera_allowlist",
    "check_secret_file",
    "generate",
    "load_keypair",
    "load_public",
    "subscriber_allowlist",
]

_METADATA = re.compile(r"^metadata\n(?P<body>(?:[ \t]+.*\n)*)", re.M)
_ENTRY = re.compile(r'^\s+(?P<name>\w+)\s*=\s*"?(?P<value>[^"\n]*?)"?\s*$', re.M)


@dataclass(frozen=True)
class CameraKey:
    """What an allowed camera key may send: its rig, and its side (None: a legacy key, made
    without ``--side``, which may send either)."""

    rig: str
    side: str | None

    @property
    def user_id(self) -> str:
        """The ZAP ``User-Id`` of its connections: ``rig/side`` (``/`` is in no rig id), or the
        rig alone for a legacy key."""
        return self.rig if self.side is None else f"{self.rig}/{self.side}"


def check_secret_file(key: str, path: Path) -> None:
    """ConfigError naming ``key`` unless ``path`` belongs to this user or root and has no group
    or other permission bits (a missing file is left to the loader to report)."""
    try:
        stat = path.stat()
    except OSError:
        return
    user = os.geteuid()
    if stat.st_uid not in (user, 0):
        raise ConfigError(
            key,
            f"{path}: owned by uid {stat.st_uid}, not by this user ({user}) or root: "
            f"chown {user} {path}",
        )
    mode = stat.st_mode & 0o777
    if mode & 0o077:
        raise ConfigError(
            key, f"{path}: mode {mode:04o} lets other users read the secret key: chmod 600 {path}"
        )


def load_keypair(key: str, path: Path) -> tuple[bytes, bytes]:
    """(public, secret) z85 keys of a ``.key_secret`` file, checked by
    :func:`check_secret_file`; ConfigError naming ``key``."""
    check_secret_file(key, path)
    try:
        public, secret = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as e:
        raise ConfigError(key, f"{path}: not a readable secret certificate: {e}") from e
    if secret is None:
        raise ConfigError(key, f"{path}: holds no secret key (give the .key_secret file)")
    return public, secret


def load_public(key: str, path: Path) -> bytes:
    """The z85 public key of a certificate file; ConfigError naming ``key``."""
    try:
        return zmq.auth.load_certificate(path)[0]
    except (OSError, ValueError) as e:
        raise ConfigError(key, f"{path}: not a readable certificate: {e}") from e


def certificate_metadata(path: Path) -> dict[str, str]:
    """The ``metadata`` entries of a certificate file (quoted or not, as pyzmq writes them)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    found = _METADATA.search(text)
    body = found["body"] if found else ""
    return {entry["name"]: entry["value"] for entry in _ENTRY.finditer(body)}


def camera_allowlist(key: str, folder: Path) -> dict[bytes, CameraKey]:
    """z85 public key -> rig and side of every camera certificate (``*.key``) in ``folder``."""
    if not folder.is_dir():
        raise ConfigError(key, f"{folder} is not a folder of camera certificates")
    allowed = {}
    for path in sorted(folder.glob("*.key")):
        metadata = certificate_metadata(path)
        rig, side = metadata.get("rig", ""), metadata.get("side")
        if not ID_PATTERN.fullmatch(rig):
            raise ConfigError(key, f"{path}: a camera certificate names its rig (--rig)")
        if side is not None and side not in SIDES:
            raise ConfigError(key, f"{path}: side {side!r} is not 'left' or 'right'")
        allowed[load_public(key, path)] = CameraKey(rig, side)
    if not allowed:
        raise ConfigError(key, f"{folder}: no camera certificate (*.key)")
    return allowed


def subscriber_allowlist(key: str, folder: Path) -> set[bytes]:
    """The z85 public keys of the certificates (``*.key``) in ``folder``, read by pyzmq's
    ``zmq.auth.load_certificates``; ConfigError naming ``key`` if there is none."""
    try:
        allowed = set(zmq.auth.load_certificates(folder))
    except (OSError, ValueError) as e:
        raise ConfigError(key, f"{folder}: not a folder of subscriber certificates: {e}") from e
    if not allowed:
        raise ConfigError(key, f"{folder}: no subscriber certificate (*.key)")
    return allowed
