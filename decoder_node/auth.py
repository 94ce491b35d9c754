"""CURVE on the decoder's sockets: encrypted, and only allowlisted peers (docs/security.md).

A ZAP handler (pyzmq's :class:`~zmq.auth.thread.ThreadAuthenticator`) runs on the daemon's
ZeroMQ context, with one allowlist per socket. On the receive socket (ZAP domain ``cameras``) a
client passes only with a camera key of ``[security] cameras``, and the connection's
``User-Id`` is that key's ``rig/side`` (the rig alone for a legacy key), which the receiver
compares with every frame's ``rig_id`` and ``side``. The keyframe request socket (domain
``requests``) takes the same camera keys. On the PUB sink (domain ``sink``) a subscriber passes
only with a key of ``[security] subscribers``. Every refused key is counted in
``stereo_decoder_auth_refused_total{socket}`` (``frames``, ``requests`` or ``sink``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping

import zmq
from prometheus_client import CollectorRegistry, Counter, Gauge
from zmq.auth.thread import ThreadAuthenticator
from zmq.utils import z85

from decoder_node.config import SecurityConfig
from decoder_node.metrics import metric_name, zero_series
from pipeline.security import CameraKey, camera_allowlist, load_keypair, subscriber_allowlist

log = logging.getLogger(__name__)

CAMERAS, REQUESTS, SINK = "cameras", "requests", "sink"
SOCKET_LABELS = {CAMERAS: "frames", REQUESTS: "requests", SINK: "sink"}
"""The ``socket`` label of ``auth_refused_total`` by ZAP domain."""


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


def bound_endpoint(sock: zmq.Socket | None, configured: str) -> str:
    """The endpoint ``sock`` is bound to (with the real port where ``configured`` asked for
    any), or ``configured`` while it is not bound."""
    if sock is None:
        return configured
    return sock.getsockopt_string(zmq.LAST_ENDPOINT)


class _Allowlist:
    """ZAP credentials provider of one domain: a key passes if the list has it; refusals
    counted."""

    def __init__(self, keys: Collection[bytes], refused: Counter) -> None:
        self._keys, self._refused = keys, refused

    def callback(self, domain: str, key: bytes) -> bool:
        if key in self._keys:
            return True
        self._refused.inc()
        return False


class RigAuthenticator(ThreadAuthenticator):
    """The ZAP handler whose CURVE ``User-Id`` is the camera key's ``rig/side``."""

    def __init__(self, context: zmq.Context, cameras: Mapping[bytes, CameraKey]) -> None:
        super().__init__(context)
        self._cameras = cameras

    def curve_user_id(self, client_public_key: bytes) -> str:
        """``rig/side`` (or the rig) of a camera key, ``subscriber`` on the sink."""
        camera = self._cameras.get(z85.encode(client_public_key))
        return "subscriber" if camera is None else camera.user_id


def refused_counter(registry: CollectorRegistry) -> Counter:
    """``stereo_decoder_auth_refused_total{socket}`` (both series exposed, at 0, even with
    security off)."""
    counter = Counter(
        metric_name("auth_refused_total"),
        "Connections refused by CURVE authentication: a key not on the socket's allowlist "
        "(socket: frames = cameras, requests = cameras on the keyframe request socket, "
        "sink = PUB sink subscribers).",
        ("socket",),
        registry=registry,
    )
    zero_series((counter,), tuple(SOCKET_LABELS.values()))
    return counter


def publish_exposure(registry: CollectorRegistry, insecure: int, legacy: int) -> None:
    """The gauges ``stereo_decoder_insecure_endpoints`` (non-loopback endpoints served without
    CURVE) and ``stereo_decoder_legacy_camera_keys`` (allowed keys without a side)."""
    Gauge(
        metric_name("insecure_endpoints"),
        "Endpoints on a non-loopback address served without CURVE ([security] allow_insecure).",
        registry=registry,
    ).set(insecure)
    Gauge(
        metric_name("legacy_camera_keys"),
        "Allowed camera keys that name a rig but no side (either side passes): regenerate them.",
        registry=registry,
    ).set(legacy)


class Curve:
    """The decoder's keys, its allowlists and its running ZAP handler."""

    def __init__(self, cfg: SecurityConfig, refused: Counter, sink: bool) -> None:
        """Load the keys of ``cfg``; the subscribers' only if ``sink`` (a PUB sink is
        configured). ConfigError naming the key if one cannot be used."""
        self.public, self.secret = load_keypair("security.secret_key", cfg.secret_key)
        self.cameras = camera_allowlist("security.cameras", cfg.cameras)
        subscribers = subscriber_allowlist("security.subscribers", cfg.subscribers) if sink else ()
        self._providers = {
            CAMERAS: _Allowlist(self.cameras, refused.labels(SOCKET_LABELS[CAMERAS])),
            REQUESTS: _Allowlist(self.cameras, refused.labels(SOCKET_LABELS[REQUESTS])),
            SINK: _Allowlist(frozenset(subscribers), refused.labels(SOCKET_LABELS[SINK])),
        }
        self._authenticator: RigAuthenticator | None = None

    @property
    def legacy_keys(self) -> list[CameraKey]:
        """The allowed camera keys that name no side."""
        return [key for key in self.cameras.values() if key.side is None]

    def start(self, context: zmq.Context) -> None:
        """Start the ZAP handler on ``context`` (before any secured socket binds)."""
        self._authenticator = RigAuthenticator(context, self.cameras)
        self._authenticator.start()
        # callbacks, not configure_curve(): pyzmq ignores its folders once a callback is set
        for domain, provider in self._providers.items():
            self._authenticator.configure_curve_callback(domain, provider)

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
