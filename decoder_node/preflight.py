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
)
from pipeline.security import camera_allowlist, load_keypair


def check_decoder(cfg: DecoderConfig) -> None:
    """Raise :class:`~pipeline.config.ConfigError` for the first value start-up would fail on."""
    check_endpoint("receiver.bind", cfg.receiver.bind)
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
    if cfg.security.enabled:
        load_keypair("security.secret_key", cfg.security.secret_key)
        camera_allowlist("security.cameras", cfg.security.cameras)


def check_entropy_decoder() -> None:
    """ConfigError unless entropy decoding checks its reads (numba) or the unchecked fallback is
    allowed (``STEREO_ALLOW_UNCHECKED_RANS=1``, :mod:`pipeline.codec.rans`)."""
    from pipeline.codec import rans

    refusal = rans.unchecked_refusal()
    if refusal is not None:
        raise ConfigError(rans.ALLOW_UNCHECKED_ENV, refusal)
