"""CURVE on the decoder's sockets: encrypted, and only the allowlisted cameras (docs/security.md).

A ZAP handler (pyzmq's :class:`~zmq.auth.thread.ThreadAuthenticator`) runs on the daemon's
ZeroMQ context. On the receive socket (ZAP domain ``cameras``) a client passes only with a
camera key of the allowlist, and the connection's ``User-Id`` is that key's rig id, which the
receiver compares with every frame's ``rig_id``; a refused key is counted in
``stereo_decoder_auth_refused_total``. The PUB sink (domain ``sink``) is encrypted with the
same server key; any subscriber that has the server's public key may connect.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import zmq
from prometheus_client import CollectorRegistry, Counter
from zmq.auth.thread import ThreadAuthenticator
from zmq.utils import z85

from decoder_node.metrics import metric_name
from pipeline.security import camera_allowlist, load_keypair

CAMERAS, SINK = "cameras", "sink"


def bind_socket(
    context: zmq.Context,
    kind: int,
    endpoint: str,
    options: Mapping[int, int],
    secure: Callable[[zmq.Socket], None] | None = None,
) -> zmq.Socket:
    """A ``kind`` socket with ``options`` and no linger, made a CURVE server by ``secure`` (if
    given), bound to ``endpoint``; closed again if the bind fails (``zmq.ZMQError`` raised)."""
    sock = context.socket(kind)
    for option, value in options.items():
        sock.setsockopt(option, value)
    sock.setsockopt(zmq.LINGER, 0)
    if secure is not None:
        secure(sock)
    try:
        sock.bind(endpoint)
    except zmq.ZMQError:
        sock.close(linger=0)
        raise
    return sock


class _Allowlist:
    """ZAP credentials provider: a key passes if the allowlist has it; refusals counted."""

    def __init__(self, rigs: dict[bytes, str], refused: Counter) -> None:
        self.rigs, self._refused = rigs, refused

    def callback(self, domain: str, key: bytes) -> bool:
        if key in self.rigs:
            return True
        self._refused.inc()
        return False


class _AnyKey:
    """ZAP credentials provider of the sink: any subscriber that has the server key."""

    def callback(self, domain: str, key: bytes) -> bool:
        return True


class RigAuthenticator(ThreadAuthenticator):
    """The ZAP handler whose CURVE ``User-Id`` is the camera key's rig id."""

    def __init__(self, context: zmq.Context, rigs: dict[bytes, str]) -> None:
        super().__init__(context)
        self._rigs = rigs

    def curve_user_id(self, client_public_key: bytes) -> str:
        """The rig id of an allowlisted camera key (``subscriber`` on the sink)."""
        return self._rigs.get(z85.encode(client_public_key), "subscriber")


def refused_counter(registry: CollectorRegistry) -> Counter:
    """``stereo_decoder_auth_refused_total`` (exposed, at 0, even with security off)."""
    return Counter(
        metric_name("auth_refused_total"),
        "Connections refused by CURVE authentication (a camera key not on the allowlist).",
        registry=registry,
    )


class Curve:
    """The decoder's keys and its running ZAP handler."""

    def __init__(self, secret_key: Path, cameras: Path, refused: Counter) -> None:
        self.public, self.secret = load_keypair("security.secret_key", secret_key)
        rigs = camera_allowlist("security.cameras", cameras)
        self._provider = _Allowlist(rigs, refused)
        self._authenticator: RigAuthenticator | None = None

    def start(self, context: zmq.Context) -> None:
        """Start the ZAP handler on ``context`` (before any secured socket binds)."""
        self._authenticator = RigAuthenticator(context, self._provider.rigs)
        self._authenticator.start()
        self._authenticator.configure_curve_callback(CAMERAS, self._provider)
        # not configure_curve(CURVE_ALLOW_ANY): pyzmq applies that to every domain
        self._authenticator.configure_curve_callback(SINK, _AnyKey())

    def secure(self, socket: zmq.Socket, domain: str) -> None:
        """Make ``socket`` a CURVE server in ``domain`` (call before bind)."""
        socket.curve_secretkey = self.secret
        socket.curve_publickey = self.public
        socket.curve_server = True
        socket.zap_domain = domain.encode()

    def stop(self) -> None:
        """Stop the ZAP handler."""
        if self._authenticator is not None:
            self._authenticator.stop()
            self._authenticator = None
