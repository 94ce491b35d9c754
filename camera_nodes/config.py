"""Configuration of one camera node (``configs/camera-left.toml``), loaded by ``pipeline.config``.

One node serves one view of one rig. The ``[source]`` table picks the capture backend by its
``type`` key: ``synthetic`` (the built-in moving stereo scene), ``folder`` (an image-sequence
folder in the ``<dir>/left/NNNNNN.png`` layout) or ``opencv`` (``cv2.VideoCapture``: a device
index, a video file, or an RTSP/HTTP URL) or ``passthrough`` (a stream the camera already
compresses, forwarded packet by packet: ``docs/video.md``).

A video codec (``h264``, ``hevc``, ``av1``) takes its encoder settings from the ``[video]``
table (:class:`VideoTable`, made into a :class:`~pipeline.codec.video.VideoSettings` with the
camera's ``codec`` and ``fps``); the camera-level ``quality`` and ``target_kbps`` (the image
codecs' quality stepper) are refused for it, the encoder's own rate control being
``video.crf`` / ``video.target_kbps``.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pipeline.codec.standard import CAMERA_CODECS, DEFAULT_CAMERA_CODEC
from pipeline.codec.video.settings import VIDEO_CODECS, VideoSettings
from pipeline.codec.weights import HASH_HEX
from pipeline.config import ConfigError, setting
from pipeline.sharding import ShardConfig, fill_endpoint, replica_of, template_fields
from pipeline.wire.protocol import ID_PATTERN


@dataclass(frozen=True)
class SyntheticSourceConfig:
    """The built-in stereo scene (:mod:`pipeline.scene`); both nodes share it."""

    type: Literal["synthetic"] = "synthetic"
    width: int = setting(640, min=16, max=8192, doc="image width in pixels")
    height: int = setting(480, min=16, max=8192, doc="image height in pixels")
    seed: int = setting(0, min=0, max=2**32 - 1, doc="scene seed; same on both nodes of a rig")


@dataclass(frozen=True)
class FolderSourceConfig:
    """Images ``<path>/<side>/*.png`` (or .jpg) in name order; the index in the order is seq."""

    path: str = setting(doc="folder holding left/ and right/ subfolders")
    type: Literal["folder"] = "folder"
    loop: bool = setting(False, doc="start again at the first image after the last")


@dataclass(frozen=True)
class OpenCVSourceConfig:
    """``cv2.VideoCapture`` on a device index, a video file, or an RTSP/HTTP URL."""

    device: int | str = setting(doc="camera index (int) or file path / URL (string)")
    type: Literal["opencv"] = "opencv"
    width: int = setting(0, min=0, max=8192, doc="requested width; 0 = backend default")
    height: int = setting(0, min=0, max=8192, doc="requested height; 0 = backend default")
    fps: float = setting(0.0, min=0.0, max=1000.0, doc="requested capture rate; 0 = default")
    loop: bool = setting(False, doc="rewind a video file at its end instead of stopping")
    layout: Literal["mono", "side_by_side"] = setting(
        "mono", doc="side_by_side: the device delivers both views in one frame; take our half"
    )
    grey: bool = setting(
        False,
        doc="stream one channel: a monochrome camera delivered as BGR (one-channel frames "
        "stay grey either way)",
    )


@dataclass(frozen=True)
class PassthroughSourceConfig:
    """A stream the camera already compresses, forwarded packet by packet (no re-encode):
    the camera's ``codec`` must be the stream's (``docs/video.md``, Pass-through)."""

    url: str = setting(doc="rtsp://... URL, a file (.mp4, .mkv, .h264, .hevc), or a device")
    type: Literal["passthrough"] = "passthrough"
    codec: Literal["h264", "hevc"] = setting("h264", doc="the codec the stream must have")
    format: str = setting("", doc="FFmpeg input format (v4l2 for a UVC camera); empty = probe")
    options: dict[str, str] = field(
        default_factory=dict,
        metadata={"doc": 'FFmpeg input options, e.g. rtsp_transport = "tcp"'},
    )
    realtime: bool = setting(
        True, doc="hand out a file's packets at their own rate; false: as fast as read"
    )
    fps: float = setting(
        0.0, min=0.0, max=1000.0, doc="frame rate of a stream without timestamps; 0 = its own"
    )
    quality: int = setting(
        28, min=0, max=51, doc="the stream's nominal CRF/QP, the quality the SI-Net is told"
    )
    resync_s: float = setting(
        1.0, min=0.01, max=3600.0, doc="re-anchor the clock when stream and wall time part by this"
    )
    timeout_s: float = setting(10.0, min=0.1, max=600.0, doc="open and read timeout")


DEFAULT_HTTP_PORTS = {"left": 8471, "right": 8472}
"""Default /metrics and /healthz ports by side (the decoder's is 8470)."""

SourceConfig = (
    SyntheticSourceConfig | FolderSourceConfig | OpenCVSourceConfig | PassthroughSourceConfig
)

_VIDEO_FIELDS = {f.name: f for f in dataclasses.fields(VideoSettings)}


def _as_in_video_settings(name: str) -> Any:
    """A ``[video]`` key declared as :class:`VideoSettings` declares it (default, doc, range)."""
    f = _VIDEO_FIELDS[name]
    return setting(f.default, doc=f.metadata["doc"], min=f.metadata["min"], max=f.metadata["max"])


@dataclass(frozen=True)
class VideoTable:
    """The ``[video]`` table of a camera with a video codec: :class:`VideoSettings` less its
    ``codec`` and ``fps``, which are the camera's own (given here, they must equal them)."""

    encoder: str = _as_in_video_settings("encoder")
    keyframe_interval_s: float = _as_in_video_settings("keyframe_interval_s")
    crf: int | None = _as_in_video_settings("crf")
    target_kbps: int | None = _as_in_video_settings("target_kbps")
    threads: int = _as_in_video_settings("threads")
    codec: str = setting("", doc="leave out: the camera's codec (given, it must be that)")
    fps: float = setting(0.0, min=0.0, max=1000.0, doc="leave out: the camera's fps (or equal)")

    def settings(self, codec: str, fps: float) -> VideoSettings:
        """The encoder settings of a camera running ``codec`` at ``fps``; ConfigError naming
        the ``video.`` key for a mismatch or a value the codec does not take."""
        for key, mine, camera in (("codec", self.codec, codec), ("fps", self.fps, fps)):
            if mine and mine != camera:
                raise ConfigError(f"video.{key}", f"{mine!r} is not the camera's {key} {camera!r}")
        if fps <= 0:
            raise ConfigError("fps", f"a {codec} camera needs a rate > 0 (its keyframe interval)")
        table = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        try:
            return VideoSettings(**(table | {"codec": codec, "fps": fps}))
        except ValueError as e:
            key, _, reason = str(e).partition(": ")
            raise ConfigError(f"video.{key}", reason) from e


@dataclass(frozen=True)
class CameraConfig:
    """Everything one camera node process needs (see ``docs/protocol.md`` for the wire side)."""

    side: Literal["left", "right"] = setting(doc="the view this node serves")
    rig_id: str = setting("rig0", doc="rig name carried in every header")
    endpoint: str = setting(
        "tcp://127.0.0.1:5555", doc="decoder PULL endpoint; with [shard], a template with {index}"
    )
    fps: float = setting(10.0, min=0.0, max=1000.0, doc="capture rate; 0 = as fast as possible")
    frames: int = setting(0, min=0, doc="stop after this many frames; 0 = run forever")
    # the choices are CAMERA_CODECS itself: a codec added there is a camera choice at once
    codec: Literal[CAMERA_CODECS] = setting(
        DEFAULT_CAMERA_CODEC, doc="camera codec: the learned dsin or a standard one (file codec)"
    )
    quality: int | None = setting(None, min=0, max=255, doc="codec quality; unset = default")
    target_kbps: float = setting(0.0, min=0.0, doc="bitrate to hold by picking quality; 0 = off")
    model: str | None = setting(None, doc="codec model id; unset = the codec's registered one")
    weights_dir: Path | None = field(
        default=None,
        metadata={"doc": "folder of weights files (docs/weights.md); unset = the built-in weights"},
    )
    weights_hash: str = setting(
        "", doc="which of the model's files in weights_dir (16 hex digits); empty = the only one"
    )
    encode_threads: int = setting(1, min=1, max=256, doc="torch CPU threads for encoding")
    send_queue: int = setting(8, min=1, max=10000, doc="frames waiting to send; drop-oldest")
    sndhwm: int = setting(4, min=1, max=100000, doc="ZeroMQ send high-water mark (messages)")
    linger_ms: int = setting(500, min=0, max=60000, doc="ZeroMQ linger when closing")
    flush_s: float = setting(1.0, min=0.0, max=60.0, doc="time to drain the queue on stop")
    metrics_port: int | None = setting(
        None,
        min=0,
        max=65535,
        doc="/metrics and /healthz port; unset = 8471 left, 8472 right; 0 = off",
    )
    metrics_addr: str = setting("0.0.0.0", doc="address the /metrics and /healthz server binds")
    stall_s: float = setting(
        10.0, min=0.1, max=86400.0, doc="/healthz says stalled after this long without a send"
    )
    clock_offset_ns: int = setting(0, doc="added to capture times (clock-skew testing)")
    capture_jitter_ms: float = setting(0.0, min=0.0, max=10000.0, doc="random delay (testing)")
    keyframe_requests_endpoint: str = setting(
        "",
        doc="the decoder's keyframe request PUB endpoint (video codecs, docs/protocol.md); "
        "with [shard], a template with {index}; empty = periodic keyframes only",
    )
    secret_key: Path | None = field(
        default=None,
        metadata={"doc": "this camera's certificate with its secret key: CURVE (security.md)"},
    )
    server_key: Path | None = field(
        default=None, metadata={"doc": "the decoder's public certificate (with secret_key)"}
    )
    video: VideoTable | None = field(
        default=None,
        metadata={"doc": "[video]: a video codec's encoder settings (docs/video.md)"},
    )
    source: SourceConfig = field(default_factory=SyntheticSourceConfig)
    shard: ShardConfig = field(default_factory=ShardConfig)

    @property
    def http_port(self) -> int:
        """The port of /metrics and /healthz: ``metrics_port``, or the side's default."""
        if self.metrics_port is not None:
            return self.metrics_port
        return DEFAULT_HTTP_PORTS[self.side]

    def __post_init__(self) -> None:
        if (self.secret_key is None) != (self.server_key is None):
            raise ValueError("secret_key and server_key go together (CURVE needs both)")
        if self.weights_hash and not re.fullmatch(rf"[0-9a-f]{{{HASH_HEX}}}", self.weights_hash):
            raise ValueError(
                f"weights_hash must be {HASH_HEX} lower-case hex digits: {self.weights_hash!r}"
            )
        if not ID_PATTERN.fullmatch(self.rig_id):
            raise ValueError(f"rig_id must be 1-64 chars of [A-Za-z0-9_.:+-]: {self.rig_id!r}")
        self._check_endpoint_template("endpoint", self.endpoint)
        self._check_video()
        if self.keyframe_requests_endpoint:
            self._check_endpoint_template(
                "keyframe_requests_endpoint", self.keyframe_requests_endpoint
            )

    @property
    def is_video(self) -> bool:
        """The camera sends a video stream (protocol version 2)."""
        return self.codec in VIDEO_CODECS

    @property
    def passes_through(self) -> bool:
        """The source's packets are sent as they are: no encoder runs on the camera."""
        return isinstance(self.source, PassthroughSourceConfig)

    def video_settings(self) -> VideoSettings:
        """The encoder settings of a video camera: ``[video]`` (or its defaults) with the
        camera's ``codec`` and ``fps``; ConfigError naming the key when they do not fit."""
        return (self.video or VideoTable()).settings(self.codec, self.fps)

    def _check_video(self) -> None:
        """The keys a video codec refuses, or needs; the pass-through source's codec."""
        if not self.is_video:
            if self.video is not None:
                raise ConfigError("video", f"a [video] table needs a video codec {VIDEO_CODECS}")
            if self.keyframe_requests_endpoint:
                raise ConfigError(
                    "keyframe_requests_endpoint",
                    f"a keyframe request needs a video codec {VIDEO_CODECS}: every "
                    f"{self.codec} frame stands alone",
                )
            if self.passes_through:
                raise ConfigError("codec", "a passthrough source needs the stream's video codec")
            return
        given = {"quality": self.quality is not None, "target_kbps": self.target_kbps > 0}
        for key, instead in (("quality", "video.crf"), ("target_kbps", "video.target_kbps")):
            if given[key]:
                raise ConfigError(
                    key,
                    f"not for a video codec ({self.codec}): its encoder holds constant quality "
                    f"or a bitrate itself; set {instead}",
                )
        if self.passes_through:
            self._check_passthrough()
        else:
            self.video_settings()

    def _check_passthrough(self) -> None:
        if self.source.codec != self.codec:
            raise ConfigError(
                "source.codec",
                f"the stream is {self.source.codec}, the camera's codec is {self.codec}",
            )
        if self.video is not None:
            raise ConfigError("video", "a passthrough source is not re-encoded (no encoder runs)")

    @property
    def decoder_endpoint(self) -> str:
        """The endpoint to connect to: ``endpoint``, its ``{index}`` filled with this rig's
        decoder replica when ``[shard] replicas`` is set (``docs/sharding.md``)."""
        return self._filled(self.endpoint)

    @property
    def request_endpoint(self) -> str:
        """The decoder's keyframe request endpoint to subscribe to ("" = none): that of the
        decoder ``endpoint`` reaches, ``{index}`` filled alike."""
        return (
            self._filled(self.keyframe_requests_endpoint) if self.keyframe_requests_endpoint else ""
        )

    def _filled(self, template: str) -> str:
        if not self.shard.replicas:
            return template
        index = replica_of(self.rig_id, self.shard.replicas, self.shard.assign)
        return fill_endpoint(template, index)

    def _check_endpoint_template(self, key: str, template: str) -> None:
        try:
            fill_endpoint(template, 0)
        except ValueError as e:
            raise ConfigError(key, str(e)) from e
        templated = "index" in template_fields(template)
        if self.shard.replicas and not templated:
            raise ConfigError(key, f"[shard] replicas is set: the {key} needs {{index}}")
        if templated and not self.shard.replicas:
            raise ConfigError(key, "{index} needs [shard] replicas (the decoder count)")
