"""A camera node's start-up checks (:mod:`pipeline.preflight`), run by ``--validate-config`` and
before every start.

A video camera's: PyAV importable, and its encoder opening at the source's size (where the
config gives it, else 640x480) as the node will open it; :func:`video_encoder` says which
encoder ``auto`` chose and which it passed over.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from camera_nodes.config import (
    CameraConfig,
    FolderSourceConfig,
    OpenCVSourceConfig,
    SyntheticSourceConfig,
)
from pipeline.codec.bitstream.errors import WeightsError
from pipeline.codec.family import family_of_codec
from pipeline.codec.weights import WeightsFile, named_hash, select
from pipeline.config import ConfigError
from pipeline.preflight import LEARNED_HINT, check_endpoint
from pipeline.security import certificate_metadata, load_keypair, load_public

if TYPE_CHECKING:
    from pipeline.codec.video.selection import Selection

log = logging.getLogger(__name__)

PROBE_SIZE = (640, 480)
"""The size a video encoder is tried at when the config does not give the source's."""


def check_camera(cfg: CameraConfig) -> None:
    """Raise :class:`~pipeline.config.ConfigError` for the first value start-up would fail on:
    the endpoint, the codec's model, weights and quality, PyAV and the encoder of a video codec,
    a folder source that is not there."""
    check_endpoint("endpoint", cfg.decoder_endpoint)
    if cfg.is_video:
        _check_pyav(cfg.codec)
    _check_model(cfg)
    if cfg.is_video and not cfg.passes_through:
        log.info("%s encoder: %s", cfg.codec, describe(video_encoder(cfg)))
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


def video_encoder(cfg: CameraConfig) -> Selection:
    """The FFmpeg encoder a video camera opens (``video.encoder``, or ``auto``'s choice),
    tried at the source's size; ConfigError naming ``video.encoder`` when none opens, and the
    source's ``width`` or ``height`` when it is odd (4:2:0 needs even sizes)."""
    from pipeline.codec.video.selection import EncoderUnavailableError, select_encoder

    width, height, channels = _probe_shape(cfg)
    try:
        return select_encoder(cfg.video_settings(), width, height, channels)
    except ValueError as e:  # a name that is not one of the codec's
        raise ConfigError("video.encoder", str(e).removeprefix("encoder: ")) from e
    except EncoderUnavailableError as e:
        raise ConfigError("video.encoder", str(e)) from e


def describe(selection: Selection) -> str:
    """``libx264 (passed over: h264_v4l2m2m: why; ...)``: the choice and the refusals."""
    refused = "; ".join(f"{name}: {why}" for name, why in selection.refused) or "none"
    return f"{selection.profile.name} (passed over: {refused})"


def _probe_shape(cfg: CameraConfig) -> tuple[int, int, int]:
    """The width, height and channels the camera's frames will have: the synthetic scene's
    size, else :data:`PROBE_SIZE` (a device may not give the size it is asked for)."""
    source = cfg.source
    if not isinstance(source, SyntheticSourceConfig):
        grey = isinstance(source, OpenCVSourceConfig) and source.grey
        return (*PROBE_SIZE, 1 if grey else 3)
    for key, size in (("width", source.width), ("height", source.height)):
        if size % 2:
            raise ConfigError(f"source.{key}", f"{size} is odd: a {cfg.codec} stream needs even")
    return source.width, source.height, 3


def _check_pyav(codec: str) -> None:
    """ConfigError naming ``codec`` unless PyAV (FFmpeg) imports."""
    try:
        import av  # noqa: F401 - the import is the check
    except ImportError as e:
        raise ConfigError(
            "codec",
            f"the {codec} codec needs PyAV (the 'av' package of the base install, pinned in "
            f"its dependencies: pip install stereo-pipeline; docs/install.md): {e}",
        ) from e
