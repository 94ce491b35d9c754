"""``stereo-pipeline keys generate``: write a CURVE certificate pair (``docs/security.md``).

``NAME.key`` holds the public key (give it out), ``NAME.key_secret`` both keys (it stays on its
host). A camera's certificate names its rig and side (``--rig rig0 --side left``): the decoder
accepts its frames only for that rig and side. The decoder's and a PUB-sink subscriber's name
neither. Both files are written whole under a temporary name and renamed into place, the secret
one created with mode 0600 (no moment in which another user could read it); an existing pair is
kept unless ``--force``.

    stereo-pipeline keys generate --out keys --name decoder
    stereo-pipeline keys generate --out keys --name rig0-left --rig rig0 --side left
    stereo-pipeline keys generate --out keys --name viewer1
"""

from __future__ import annotations

import datetime
import os
import sys
import tempfile
from pathlib import Path

import zmq

from pipeline.help_text import command_parser
from pipeline.wire.protocol import ID_PATTERN, SIDES

_BANNER = """#   ****  Generated on {now} by stereo-pipeline keys generate  ****
#   ZeroMQ CURVE {kind} Certificate
#   {advice}

"""
_PUBLIC = ("Public", "Exchange securely, or use a secure mechanism to verify the contents")
_SECRET = ("**Secret**", "DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.")


class KeyExistsError(FileExistsError):
    """``NAME.key`` or ``NAME.key_secret`` is already there (``--force`` replaces it)."""


def generate(
    folder: Path,
    name: str,
    rig: str | None = None,
    side: str | None = None,
    force: bool = False,
) -> tuple[Path, Path]:
    """Write ``NAME.key`` and ``NAME.key_secret`` (mode 0600) in ``folder``; ``rig`` and
    ``side`` for a camera. Raises :class:`KeyExistsError` if either file exists and not
    ``force``, ``ValueError`` for a bad rig id or side."""
    if rig is not None and not ID_PATTERN.fullmatch(rig):
        raise ValueError(f"rig id {rig!r}: 1-64 chars of [A-Za-z0-9_.:+-]")
    if side is not None and (rig is None or side not in SIDES):
        raise ValueError(f"side {side!r}: 'left' or 'right', with --rig")
    if not name or Path(name).name != name or name.startswith("."):
        raise ValueError(f"name {name!r}: a file name without a folder")
    public, secret = folder / f"{name}.key", folder / f"{name}.key_secret"
    if not force:
        for path in (public, secret):
            if path.exists():
                raise KeyExistsError(f"{path} exists (--force replaces the pair)")
    folder.mkdir(parents=True, exist_ok=True)
    metadata = {"rig": rig, "side": side}
    public_key, secret_key = zmq.curve_keypair()
    keys = {"public-key": public_key.decode()}
    _place(secret, _text(_SECRET, metadata, keys | {"secret-key": secret_key.decode()}), force)
    _place(public, _text(_PUBLIC, metadata, keys), force, mode=0o644)
    return public, secret


def _text(banner: tuple[str, str], metadata: dict[str, str | None], keys: dict[str, str]) -> str:
    """A certificate in the ZPL format that ``zmq.auth.load_certificate`` reads."""
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    lines = [_BANNER.format(now=now, kind=banner[0], advice=banner[1]), "metadata\n"]
    lines += [f'    {k} = "{v}"\n' for k, v in metadata.items() if v is not None]
    lines += ["curve\n"] + [f'    {k} = "{v}"\n' for k, v in keys.items()]
    return "".join(lines)


def _place(path: Path, text: str, force: bool, mode: int = 0o600) -> None:
    """Write ``text`` to a new file of ``mode`` in ``path``'s folder, then move it to ``path``
    (replacing it only with ``force``)."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temporary, mode)  # only ever widens the public file
        if force:
            os.replace(temporary, path)
        else:
            try:
                os.link(temporary, path)  # fails if path appeared meanwhile: never overwrites
            except FileExistsError as e:
                raise KeyExistsError(f"{path} exists (--force replaces the pair)") from e
    finally:
        if os.path.lexists(temporary):
            os.unlink(temporary)


def main(argv: list[str] | None = None) -> int:
    """``stereo-pipeline keys generate``: write a certificate pair; exit 2 if it exists."""
    parser = command_parser("stereo-pipeline keys", __doc__)
    commands = parser.add_subparsers(dest="command", required=True, help="what to do")
    make = commands.add_parser("generate", help="write NAME.key and NAME.key_secret")
    make.add_argument("--out", type=Path, required=True, help="folder to write into")
    make.add_argument("--name", required=True, help="file name, e.g. decoder or rig0-left")
    make.add_argument("--rig", help="a camera's rig id: the rig its key may send frames of")
    make.add_argument("--side", choices=SIDES, help="a camera's side (with --rig)")
    make.add_argument("--force", action="store_true", help="replace an existing pair")
    args = parser.parse_args(argv)
    if (args.side is None) != (args.rig is None):
        parser.error("a camera's key names its rig and its side: --rig RIG --side SIDE")
    try:
        public, secret = generate(args.out, args.name, args.rig, args.side, args.force)
    except (ValueError, OSError) as e:
        print(f"stereo-pipeline keys: {e}", file=sys.stderr)
        return 2
    print(f"public {public}\nsecret {secret} (keep it on its host)", file=sys.stdout)
    return 0
