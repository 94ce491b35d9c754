"""What the CURVE tests with real processes share: the steps of ``docs/install.md`` ("Keys")
read from the document, and CURVE sockets of a subscriber or an intruding camera."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import zmq
from zmq.utils.monitor import recv_monitor_message

from pipeline.security import load_keypair, load_public

INSTALL = Path(__file__).resolve().parents[2] / "docs" / "install.md"


def documented_keys_step() -> tuple[list[str], str, dict]:
    """(shell lines, decoder ``[security]`` TOML, rig0-left camera keys) of the "Keys" section."""
    section = INSTALL.read_text().split("\n## Keys\n", 1)[1].split("\n## ", 1)[0]
    shell = re.search(r"```\n(.*?)```", section, re.S)[1].splitlines()
    decoder, camera = re.findall(r"```toml\n(.*?)```", section, re.S)
    return shell, decoder, tomllib.loads(camera)


def run_shell(lines: list[str], folder: Path) -> None:
    """Run each line with bash in ``folder``, ``stereo-pipeline`` from this interpreter's venv."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    for line in lines:
        subprocess.run(
            ["bash", "-ec", line],
            cwd=folder,
            check=True,
            timeout=120,
            env={**os.environ, "PATH": path},
            capture_output=True,
        )


def curve_socket(
    context: zmq.Context, kind: int, secret: Path, server: Path, endpoint: str
) -> zmq.Socket:
    """A ``kind`` socket with the key pair of ``secret`` for the server key of ``server``,
    connected to ``endpoint``, with a monitor (see :func:`handshake`)."""
    sock = context.socket(kind)
    sock.curve_publickey, sock.curve_secretkey = load_keypair("key", secret)
    sock.curve_serverkey = load_public("key", server)
    sock.setsockopt(zmq.LINGER, 0)
    if kind == zmq.SUB:
        sock.setsockopt(zmq.SUBSCRIBE, b"")
    sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_HANDSHAKE_FAILED_AUTH)
    sock.connect(endpoint)
    return sock


def handshake(sock: zmq.Socket, timeout_ms: int = 60_000) -> str:
    """``ok`` or ``refused``: how the first CURVE handshake of ``sock`` ended."""
    monitor = sock.get_monitor_socket()
    if not monitor.poll(timeout_ms):
        return "timeout"
    event = recv_monitor_message(monitor)["event"]
    return "ok" if event == zmq.EVENT_HANDSHAKE_SUCCEEDED else "refused"


def drain(sock: zmq.Socket) -> list[list[bytes]]:
    """Every message waiting on ``sock`` now."""
    messages = []
    while sock.poll(0):
        messages.append(sock.recv_multipart())
    return messages
