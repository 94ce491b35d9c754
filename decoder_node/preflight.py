"""The decoder daemon's start-up checks (:mod:`pipeline.preflight`), run by ``--validate-config``
and before every start."""

from __future__ import annotations

from decoder_node.config import DecoderConfig, PngSinkConfig, TimingSinkConfig, ZmqSinkConfig
from decoder_node.shard import resolve_index
from pipeline.config import ConfigError
from pipeline.preflight import (
    check_device,
    check_dsin_model,
    check_endpoint,
    check_weights_dir,
    check_writable_dir,
    is_loopback,
)
from pipeline.security import camera_allowlist, load_keypair, subscriber_allowlist


def check_decoder(cfg: DecoderConfig) -> None:
    """Raise :class:`~pipeline.config.ConfigError` for the first value start-up would fail on."""
    check_endpoint("receiver.bind", cfg.receiver.bind)
    check_request_endpoint(cfg)
    check_device("codec.device", cfg.codec.device)
    check_dsin_model("codec.model", cfg.codec.model)
    check_weights_dir("codec.weights_dir", cfg.codec.weights_dir)
    check_entropy_decoder()
    for index, sink in enumerate(cfg.sinks):
        key = f"sinks[{index}]"
        if isinstance(sink, PngSinkConfig):
            check_writable_dir(f"{key}.dir", sink.dir)
        elif isinstance(sink, TimingSinkConfig):
            check_writable_dir(f"{key}.path", sink.path.parent)
        elif isinstance(sink, ZmqSinkConfig):
            check_endpoint(f"{key}.bind", sink.bind)
    resolve_index(cfg.shard)
    security = cfg.security
    if security.enabled:
        load_keypair("security.secret_key", security.secret_key)
        camera_allowlist("security.cameras", security.cameras)
        if any(isinstance(sink, ZmqSinkConfig) for sink in cfg.sinks):
            subscriber_allowlist("security.subscribers", security.subscribers)
    elif not security.allow_insecure and open_endpoints(cfg):
        raise ConfigError(
            "security.allow_insecure",
            f"security is off and these are not on loopback: {', '.join(open_endpoints(cfg))}; "
            "anyone who reaches them can send frames or read the images. Set [security] "
            "enabled = true with keys, bind them to loopback, or set allow_insecure = true to "
            "run open (docs/security.md, Upgrading)",
        )


def open_endpoints(cfg: DecoderConfig) -> list[str]:
    """``key = address`` of every endpoint served without CURVE on a non-loopback address:
    the receive, keyframe request and PUB sink sockets and the HTTP server, when
    ``[security]`` is off."""
    if cfg.security.enabled:
        return []
    served = {"receiver.bind": cfg.receiver.bind}
    if cfg.keyframe_requests.bind:
        served["keyframe_requests.bind"] = cfg.keyframe_requests.bind
    for index, sink in enumerate(cfg.sinks):
        if isinstance(sink, ZmqSinkConfig):
            served[f"sinks[{index}].bind"] = sink.bind
    if cfg.http.enabled:
        served["http.host"] = cfg.http.host
    return [f"{key} = {address!r}" for key, address in served.items() if not is_loopback(address)]


def check_request_endpoint(cfg: DecoderConfig) -> None:
    """ConfigError naming ``keyframe_requests.bind`` for an endpoint ZeroMQ would refuse or the
    receive socket's own (nothing to check when requests are off)."""
    bind = cfg.keyframe_requests.bind
    if not bind:
        return
    check_endpoint("keyframe_requests.bind", bind)
    if bind == cfg.receiver.bind:
        raise ConfigError(
            "keyframe_requests.bind",
            f"{bind!r} is receiver.bind: the requests need a port of "
            "their own (5557 by convention)",
        )


def check_entropy_decoder() -> None:
    """ConfigError unless entropy decoding checks its reads (numba) or the unchecked fallback is
    allowed (``STEREO_ALLOW_UNCHECKED_RANS=1``, :mod:`pipeline.codec.entropy.rans`)."""
    from pipeline.codec.entropy import rans

    refusal = rans.unchecked_refusal()
    if refusal is not None:
        raise ConfigError(rans.ALLOW_UNCHECKED_ENV, refusal)
