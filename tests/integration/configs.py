"""Decoder configurations the real-process tests start daemons with."""

from __future__ import annotations


def cpu_decoder_toml(
    frames_port: int, http_port: int, receiver: str = "", pairing: str = ""
) -> str:
    """A CPU decoder on loopback, one torch thread, one SI-Net pass; extra ``receiver`` and
    ``pairing`` lines (TOML) as given."""
    return f"""
[receiver]
bind = "tcp://127.0.0.1:{frames_port}"
{receiver}
[pairing]
{pairing}
[codec]
device = "cpu"
torch_threads = 1
self_ensemble = 1
[http]
host = "127.0.0.1"
port = {http_port}
"""
