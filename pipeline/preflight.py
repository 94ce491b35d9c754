"""Checks a configuration must pass before a node starts: what start-up would find out the hard way.

``load_config`` checks each value's type and range; these check what the values point at: a
device that exists, a model id the registry knows and whose weights are installed, a quality the
codec offers, a ZeroMQ endpoint of a valid form, an output folder the node may write. Each
failure is a :class:`~pipeline.config.ConfigError` naming the dotted key and the reason, so
``--validate-config`` and start-up report it in one line and exit 2 (systemd's
``RestartPreventExitStatus=2`` then stops instead of looping).
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path

from pipeline.config import ConfigError

LEARNED_HINT = "the 'learned' extra: pip install 'stereo-pipeline[learned]'"
"""What to install where torch and CompressAI are missing (docs/install.md)."""

#: ``tcp://host:port`` (host ``*``, a name, IPv4 or bracketed IPv6; port ``*``: any free one),
#: ``ipc://path`` or ``inproc://name``, as ZeroMQ takes them.
_ENDPOINT = re.compile(
    r"(tcp://(\*|[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(?P<port>\d{1,5}|\*)|ipc://.+|inproc://.+)"
)


def check_endpoint(key: str, endpoint: str) -> None:
    """ConfigError unless ``endpoint`` is a ZeroMQ endpoint of a form ZeroMQ accepts."""
    match = _ENDPOINT.fullmatch(endpoint)
    port = match["port"] if match is not None else None
    if match is None or (port not in (None, "*") and not 0 < int(port) < 65536):
        raise ConfigError(
            key, f"{endpoint!r} is not a ZeroMQ endpoint (tcp://host:port, ipc://, inproc://)"
        )


def is_loopback(address: str) -> bool:
    """True for a ZeroMQ endpoint or a host address that only this host reaches: ``ipc://``,
    ``inproc://``, or TCP on 127.0.0.0/8, ``::1``, ``localhost`` or the interface ``lo``
    (``*``, ``0.0.0.0``, ``""``, any other name or address: False)."""
    if address.startswith(("ipc://", "inproc://")):
        return True
    host = address.removeprefix("tcp://").rsplit(":", 1)[0] if "://" in address else address
    host = host.strip("[]")
    if host in ("localhost", "lo"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_device(key: str, device: str) -> None:
    """ConfigError unless ``device`` is ``auto``, ``cpu`` or a CUDA device this host has."""
    import torch

    if device == "auto":
        return
    try:
        parsed = torch.device(device)
    except RuntimeError as e:
        raise ConfigError(key, f"{device!r} is not a device ('auto', 'cpu', 'cuda:0'): {e}") from e
    if parsed.type == "cpu":
        return
    if parsed.type != "cuda":
        raise ConfigError(key, f"{device!r}: only 'auto', 'cpu' and CUDA devices decode")
    if not torch.cuda.is_available():
        raise ConfigError(key, f"{device!r}: this host has no CUDA device")
    if (parsed.index or 0) >= torch.cuda.device_count():
        raise ConfigError(
            key, f"{device!r}: this host has {torch.cuda.device_count()} CUDA devices"
        )


def check_dsin_model(key: str, model: str | None) -> None:
    """ConfigError unless ``model`` (None or "": the default) is registered and installed."""
    from pipeline.codec.bitstream.errors import WeightsError

    try:
        from pipeline.codec.model.registry import get_spec, weights_path
    except ModuleNotFoundError as e:
        raise ConfigError(key, f"the dsin codec needs {LEARNED_HINT} ({e.name} is missing)") from e
    try:
        weights_path(get_spec(model or None).model_id)
    except WeightsError as e:
        raise ConfigError(key, str(e)) from e


def check_weights_dir(key: str, folder: Path | None) -> None:
    """ConfigError unless the built-in weights and those of ``folder`` (when set) are all named
    as the registry names them and hash to their names (:mod:`pipeline.codec.weights`)."""
    from pipeline.codec.bitstream.errors import WeightsError
    from pipeline.codec.weights import installed

    try:
        installed(folder)
    except WeightsError as e:
        raise ConfigError(key, str(e)) from e


def check_writable_dir(key: str, folder: Path) -> None:
    """ConfigError unless ``folder`` is, or can be made, a folder this process may write."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(key, f"{folder}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(key, f"{folder}: {existing} is not writable by this user")
