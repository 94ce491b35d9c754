"""A camera node's start-up checks (:mod:`pipeline.preflight`), run by ``--validate-config`` and
before every start."""

from __future__ import annotations

from pathlib import Path

from camera_nodes.config import CameraConfig, FolderSourceConfig
from pipeline.codec.errors import WeightsError
from pipeline.codec.installed import WeightsFile, select, weights_name
from pipeline.codec.standard_models import STANDARD_MODELS, standard_model_id
from pipeline.codec.weights_files import file_hash
from pipeline.config import ConfigError
from pipeline.preflight import check_dsin_model, check_endpoint
from pipeline.security import certificate_metadata, load_keypair, load_public


def check_camera(cfg: CameraConfig) -> None:
    """Raise :class:`~pipeline.config.ConfigError` for the first value start-up would fail on:
    the endpoint, the codec's model, weights and quality, a folder source that is not there."""
    check_endpoint("endpoint", cfg.decoder_endpoint)
    if cfg.codec == "dsin":
        check_dsin_model("model", cfg.model)
    else:
        _check_standard_model(cfg)
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
    return select(weights_name(cfg.codec, cfg.model), cfg.weights_dir, cfg.weights_hash)


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


def _check_standard_model(cfg: CameraConfig) -> None:
    model = cfg.model or standard_model_id(cfg.codec)
    spec = STANDARD_MODELS.get(model)
    if spec is None or spec.codec != cfg.codec:
        raise ConfigError("model", f"{model!r} is not a registered model of codec {cfg.codec}")
    try:
        file_hash(spec.weights)
    except WeightsError as e:
        raise ConfigError("model", str(e)) from e


def _check_quality(cfg: CameraConfig) -> None:
    if cfg.codec == "dsin":
        from pipeline.codec.registry import get_spec

        top = get_spec(cfg.model or None).config.levels
    else:
        top = 100
    if not 1 <= cfg.quality <= top:
        raise ConfigError("quality", f"{cfg.quality} is not a {cfg.codec} quality (1..{top})")
