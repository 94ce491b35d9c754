"""CURVE keys for the cameras, the decoder and its subscribers (``docs/security.md``).

Keys are ZeroMQ certificate files, as ``zmq.auth.create_certificates`` writes them: ``NAME.key``
holds the public key (give it out), ``NAME.key_secret`` both keys (keep it on its host, mode
0600). A camera's certificate carries its rig id in its metadata (``rig = "rig0"``): the decoder
takes its allowlist of camera keys from a folder of such public certificates and accepts frames
of a rig only from that rig's keys.

    stereo-pipeline keys generate --out keys --name decoder
    stereo-pipeline keys generate --out keys --name rig0-left --rig rig0
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import zmq.auth

from pipeline.config import ConfigError
from pipeline.help_text import command_parser
from pipeline.wire.protocol import ID_PATTERN

_RIG = re.compile(r'^\s+rig\s*=\s*"([^"]*)"\s*$', re.M)


def generate(folder: Path, name: str, rig: str | None = None) -> tuple[Path, Path]:
    """Write ``NAME.key`` and ``NAME.key_secret`` (0600) in ``folder``; ``rig`` for a camera."""
    if rig is not None and not ID_PATTERN.fullmatch(rig):
        raise ValueError(f"rig id {rig!r}: 1-64 chars of [A-Za-z0-9_.:+-]")
    folder.mkdir(parents=True, exist_ok=True)
    public, secret = zmq.auth.create_certificates(folder, name, {"rig": rig} if rig else None)
    os.chmod(secret, 0o600)
    if rig is not None:  # pyzmq writes metadata into the secret file only; the allowlist
        path = Path(public)  # reads the public one
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("metadata\n", f'metadata\n    rig = "{rig}"\n', 1))
    return Path(public), Path(secret)


def load_keypair(key: str, path: Path) -> tuple[bytes, bytes]:
    """(public, secret) z85 keys of a ``.key_secret`` file; ConfigError naming ``key``."""
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


def camera_allowlist(key: str, folder: Path) -> dict[bytes, str]:
    """z85 public key -> rig id of every camera certificate (``*.key``) in ``folder``."""
    if not folder.is_dir():
        raise ConfigError(key, f"{folder} is not a folder of camera certificates")
    allowed = {}
    for path in sorted(folder.glob("*.key")):
        found = _RIG.search(path.read_text(encoding="utf-8", errors="replace"))
        if found is None or not ID_PATTERN.fullmatch(found[1]):
            raise ConfigError(key, f"{path}: a camera certificate names its rig (--rig)")
        allowed[load_public(key, path)] = found[1]
    if not allowed:
        raise ConfigError(key, f"{folder}: no camera certificate (*.key)")
    return allowed


def main(argv: list[str] | None = None) -> int:
    """``stereo-pipeline keys generate``: write a certificate pair."""
    parser = command_parser("stereo-pipeline keys", __doc__)
    commands = parser.add_subparsers(dest="command", required=True, help="what to do")
    make = commands.add_parser("generate", help="write NAME.key and NAME.key_secret")
    make.add_argument("--out", type=Path, required=True, help="folder to write into")
    make.add_argument("--name", required=True, help="file name, e.g. decoder or rig0-left")
    make.add_argument("--rig", help="the rig id a camera's key may send frames of")
    args = parser.parse_args(argv)
    public, secret = generate(args.out, args.name, args.rig)
    print(f"public {public}\nsecret {secret} (keep it on its host)", file=sys.stdout)
    return 0
