"""A camera node's start-up checks (:mod:`pipeline.preflight`), run by ``--validate-config`` and
before every start."""

from __future__ import annotations

from pathlib import Path

from camera_nodes.config import CameraConfig, FolderSourceConfig
from pipeline.codec.bitstream.errors import WeightsError
from pipeline.codec.family import family_of_codec
from pipeline.codec.weights import WeightsFile, named_hash, select
from pipeline.config import ConfigError
from pipeline.preflight import LEARNED_HINT, check_endpoint
from pipeline.security import certificate_metadata, load_keypair, load_public


def check_camera(cfg: CameraConfig) -> None:
    """Raise :class:`~pipeline.config.ConfigError` for the first value start-up would fail on:
    the endpoint, the codec's model, weights and quality, a folder source that is not there."""
    check_endpoint("endpoint", cfg.decoder_endpoint)
    _check_model(cfg)
    try:
        camera_weights(cfg)
    except WeightsError as e:
        raise ConfigError("weights_hash" if cfg.weights_hash else "weights_dir", str(e)) from e
    if cfg.quality is not None:
        _check_quality(cfg)
    if cfg.secret_key is not None and cfg.server_key is not None:
        load_keypair("secret_key", cfg.secret_key)
        load_public("server_key", cfg.server_key)
        _check_key_is_this_cameras(cfg.secret_key, cfg.rig_id, cfg.side)
    folder = cfg.source.path if isinstance(cfg.source, FolderSourceConfig) else None
    if folder is not None and not (Path(folder) / cfg.side).is_dir():
        raise ConfigError("source.path", f"{folder}/{cfg.side} is not a folder")


def camera_weights(cfg: CameraConfig) -> WeightsFile | None:
    """The weights file the camera encodes with: its model's file in ``weights_dir`` (the one
    whose hash is ``weights_hash`` when set), verified; None when neither is set (the built-in
    file). Raises :class:`WeightsError` when there is not exactly one such file."""
    if cfg.weights_dir is None and not cfg.weights_hash:
        return None
    name = family_of_codec(cfg.codec).weights_name(cfg.codec, cfg.model)
    return select(name, cfg.weights_dir, cfg.weights_hash)


def _check_key_is_this_cameras(path: Path, rig: str, side: str) -> None:
    """ConfigError unless the rig and side that the key's certificate names (where it names
    them) are this camera's: the decoder would drop every frame (``wrong_rig``, ``wrong_side``)."""
    metadata = certificate_metadata(path)
    for name, mine in (("rig", rig), ("side", side)):
        theirs = metadata.get(name)
        if theirs is not None and theirs != mine:
            raise ConfigError(
                "secret_key",
                f"{path} is a key of {name} {theirs!r}, not of this camera's "
                f"{mine!r}: the decoder would drop its frames as wrong_{name}",
            )


def _check_model(cfg: CameraConfig) -> None:
    """ConfigError unless the codec's model is registered, its weights built in, and (for a
    family that encodes with torch) torch installed."""
    family = family_of_codec(cfg.codec)
    try:
        named_hash(family.weights_name(cfg.codec, cfg.model))
    except ModuleNotFoundError as e:
        raise ConfigError(
            "model", f"the {cfg.codec} codec needs {LEARNED_HINT} ({e.name} is missing)"
        ) from e
    except WeightsError as e:
        raise ConfigError("model", str(e)) from e


def _check_quality(cfg: CameraConfig) -> None:
    top = family_of_codec(cfg.codec).top_quality(cfg.codec, cfg.model)
    if not 1 <= cfg.quality <= top:
        raise ConfigError("quality", f"{cfg.quality} is not a {cfg.codec} quality (1..{top})")
