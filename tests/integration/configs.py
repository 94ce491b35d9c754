"""Decoder and camera configurations the real-process tests start their processes with."""

from __future__ import annotations

import tomli_w

SYNTHETIC = {"type": "synthetic", "width": 64, "height": 48}


def cpu_decoder_toml(
    frames: int | str,
    http_port: int,
    receiver: str = "",
    pairing: str = "",
    head: str = "",
    self_ensemble: int = 1,
) -> str:
    """A CPU decoder, one torch thread, ``self_ensemble`` SI-Net passes, HTTP on loopback,
    receiving on ``frames`` (a loopback TCP port, or an endpoint); ``head`` (top-level keys),
    extra ``receiver`` and ``pairing`` lines (TOML) as given. Append further tables."""
    bind = f"tcp://127.0.0.1:{frames}" if isinstance(frames, int) else frames
    return f"""
{head}
[receiver]
bind = "{bind}"
{receiver}
[pairing]
{pairing}
[codec]
device = "cpu"
torch_threads = 1
self_ensemble = {self_ensemble}
[http]
host = "127.0.0.1"
port = {http_port}
"""


def camera_toml(
    rig_id: str, side: str, endpoint: str, source: dict | None = None, **keys: object
) -> str:
    """A camera node of ``rig_id`` sending its ``side`` view to ``endpoint``; further top-level
    ``keys`` (a dict value is a table) as given, and ``source`` (default: 64x48 synthetic)."""
    document = {"rig_id": rig_id, "side": side, "endpoint": endpoint, **keys}
    return tomli_w.dumps(document | {"source": SYNTHETIC if source is None else source})
