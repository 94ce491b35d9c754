"""The decoder daemon's configuration schema (``configs/decoder.toml``).

Loaded with :func:`pipeline.config.load_config` into these frozen dataclasses; an unknown key or
a bad value raises :class:`pipeline.config.ConfigError` naming the dotted key and the reason.
Sinks are a union keyed on ``type`` (``png``, ``zmq``, ``timing``, ``none``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from decoder_node.shard import DecoderShardConfig
from pipeline.codec.bitstream.limits import ImageLimits
from pipeline.config import setting

_LIMITS = ImageLimits()


@dataclass(frozen=True)
class ReceiverConfig:
    """The bound PULL socket that every camera node of every rig connects to."""

    bind: str = setting("tcp://*:5555", doc="ZeroMQ endpoint the PULL socket binds.")
    rcvhwm: int = setting(1000, min=1, doc="Receive high-water mark, in messages.")
    poll_ms: float = setting(10.0, min=1, max=1000, doc="Receive poll timeout.")
    max_rigs: int = setting(
        16, min=1, max=1024, doc="Distinct rig ids accepted; more are dropped (bounds labels)."
    )
    rig_idle_s: float = setting(
        60.0, min=0.1, doc="A rig silent this long gives its slot to a new rig when all are taken."
    )


@dataclass(frozen=True)
class KeyframeRequestConfig:
    """The PUB socket that asks a video camera for a keyframe when its stream drops a packet
    (``docs/protocol.md``, Keyframe requests); cameras SUB-connect with
    ``keyframe_requests_endpoint``."""

    bind: str = setting(
        "", doc="ZeroMQ endpoint the PUB socket binds (tcp://*:5557); empty = no requests."
    )
    interval_s: float = setting(
        0.5, min=0.01, max=3600.0, doc="At most one request a stream (rig and side) this often."
    )
    sndhwm: int = setting(64, min=1, max=100_000, doc="Send high-water mark; PUB drops beyond.")


@dataclass(frozen=True)
class LimitsConfig:
    """The largest image accepted, checked on the wire header and the bitstream header before
    any work (a larger one is dropped as ``bad_bitstream``)."""

    max_width: int = setting(_LIMITS.max_width, min=1, max=65535, doc="Widest image, pixels.")
    max_height: int = setting(_LIMITS.max_height, min=1, max=65535, doc="Tallest image, pixels.")
    max_pixels: int = setting(
        _LIMITS.max_pixels, min=1, max=65535 * 65535, doc="Most pixels in one image."
    )

    def image_limits(self) -> ImageLimits:
        """These bounds as the codec's :class:`ImageLimits`."""
        return ImageLimits(self.max_width, self.max_height, self.max_pixels)


@dataclass(frozen=True)
class PairingConfig:
    """How left and right frames of one rig are matched (``docs/pairing.md``)."""

    mode: Literal["sequence", "timestamp"] = setting(
        "timestamp", doc="'sequence': equal seq (hardware trigger); 'timestamp': capture time."
    )
    slop_ms: float = setting(
        20.0, min=0, max=10_000, doc="Largest capture-time difference of a pair (timestamp)."
    )
    max_age_ms: float = setting(
        500.0, min=1, max=600_000, doc="How long an unmatched frame waits for its partner."
    )
    queue_size: int = setting(64, min=1, max=100_000, doc="Unmatched frames kept per rig/side.")


@dataclass(frozen=True)
class BatchingConfig:
    """The dynamic batcher in front of the decoder (``docs/batching.md``)."""

    max_batch: int = setting(4, min=1, max=256, doc="Most pairs in one decode batch.")
    max_wait_ms: float = setting(
        20.0, min=0, max=60_000, doc="Longest wait from a group's first pair to its batch."
    )
    backlog: int = setting(64, min=1, max=100_000, doc="Pairs waiting; beyond it the oldest drop.")


@dataclass(frozen=True)
class DecoderCodecConfig:
    """The decoder's ``[codec]`` table: which model decodes and where."""

    model: str = setting("", doc="Model id from the registry; empty = the registry default.")
    weights_dir: Path | None = field(
        default=None,
        metadata={"doc": "Folder of more weights sets to serve besides the built-in ones."},
    )
    device: str = setting("auto", doc="'auto' (CUDA when present, else CPU), 'cpu', 'cuda:0'.")
    torch_threads: int = setting(0, min=0, max=256, doc="torch CPU threads; 0 = torch default.")
    self_ensemble: Literal["auto", 1, 2, 4, 8] = setting(
        "auto",
        doc="SI-Net passes over flips/transposes, averaged; 'auto' = 8 on CUDA, 1 on the CPU.",
    )
    precision: Literal["auto", "float32", "bfloat16"] = setting(
        "auto",
        doc="Synthesis and SI-Net dtype; 'auto' = bfloat16 where the device computes it natively.",
    )
    si_warm_start: bool = setting(
        True,
        doc="SI-Finder searches each block near its match in the rig's previous pair, in full "
        "where that misses (a whole search every 30 pairs and on a new size); false: always "
        "the whole search.",
    )
    nvdec: bool = setting(
        True, doc="Video streams try NVDEC when the device is CUDA (else, or without it, the CPU)."
    )


@dataclass(frozen=True)
class PngSinkConfig:
    """Write ``<dir>/<rig>/<side>/<seq:06d>.png`` atomically (temp file + rename)."""

    type: Literal["png"]
    dir: Path = field(default=Path("out/decoded"), metadata={"doc": "Output folder."})
    left_alone: bool = setting(False, doc="Also write the left view decoded without SI.")
    compression: int = setting(1, min=0, max=9, doc="PNG compression level (0 = fastest).")
    max_files: int = setting(
        0, min=0, doc="Keep at most this many PNGs under dir, deleting the oldest; 0 = all."
    )
    max_age_s: float = setting(
        0.0, min=0, doc="Delete PNGs older than this many seconds as new ones come; 0 = never."
    )


@dataclass(frozen=True)
class ZmqSinkConfig:
    """Republish decoded frames on a bound PUB socket: [msgpack header, raw pixels]."""

    type: Literal["zmq"]
    bind: str = setting("tcp://*:5556", doc="ZeroMQ endpoint the PUB socket binds.")
    sndhwm: int = setting(100, min=1, doc="Send high-water mark; PUB drops beyond it.")
    left_alone: bool = setting(False, doc="Also publish the left view decoded without SI.")


@dataclass(frozen=True)
class TimingSinkConfig:
    """Append one JSON line of per-stage timings for every decoded frame."""

    type: Literal["timing"]
    path: Path = field(
        default=Path("out/decoder-timing.jsonl"), metadata={"doc": "JSON Lines file to write."}
    )


@dataclass(frozen=True)
class NullSinkConfig:
    """Discard decoded frames (benchmarks, metrics only)."""

    type: Literal["none"]


SinkConfig = PngSinkConfig | ZmqSinkConfig | TimingSinkConfig | NullSinkConfig


@dataclass(frozen=True)
class HttpConfig:
    """The HTTP server for ``/metrics`` (Prometheus) and ``/healthz`` (JSON)."""

    enabled: bool = setting(True, doc="Serve /metrics and /healthz.")
    host: str = setting("0.0.0.0", doc="Address to listen on.")
    port: int = setting(8470, min=0, max=65535, doc="Port; 0 = any free port (logged).")
    stall_s: float = setting(
        30.0, min=0.1, doc="/healthz reports 'stalled' when pairs wait longer than this."
    )


@dataclass(frozen=True)
class SecurityConfig:
    """CURVE encryption and authentication of cameras and subscribers (``docs/security.md``).

    Off, the decoder refuses to serve a non-loopback address unless ``allow_insecure``."""

    enabled: bool = setting(
        False, doc="Encrypt and authenticate the receive, keyframe request and PUB sockets."
    )
    allow_insecure: bool = setting(
        False, doc="With security off, serve non-loopback addresses anyway (warned, metered)."
    )
    secret_key: Path = field(
        default=Path("keys/decoder.key_secret"),
        metadata={"doc": "The decoder's certificate with its secret key (keys generate)."},
    )
    cameras: Path = field(
        default=Path("keys/cameras"),
        metadata={"doc": "Folder of allowed camera certificates (*.key, each naming its rig)."},
    )
    subscribers: Path = field(
        default=Path("keys/subscribers"),
        metadata={"doc": "Folder of allowed PUB sink subscriber certificates (*.key)."},
    )


@dataclass(frozen=True)
class DecoderConfig:
    """The whole decoder daemon configuration."""

    receiver: ReceiverConfig = field(default_factory=ReceiverConfig)
    keyframe_requests: KeyframeRequestConfig = field(default_factory=KeyframeRequestConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    pairing: PairingConfig = field(default_factory=PairingConfig)
    batching: BatchingConfig = field(default_factory=BatchingConfig)
    codec: DecoderCodecConfig = field(default_factory=DecoderCodecConfig)
    sinks: tuple[SinkConfig, ...] = setting(
        (NullSinkConfig(type="none"),), doc="Where decoded frames go."
    )
    http: HttpConfig = field(default_factory=HttpConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    shard: DecoderShardConfig = field(default_factory=DecoderShardConfig)
    drain_timeout_s: float = setting(
        30.0, min=0, doc="On SIGTERM, longest time to finish queued pairs."
    )
    max_thread_restarts: int = setting(
        3, min=0, max=1000, doc="Dead daemon threads started again before the daemon exits 1."
    )
