"""Free ports and the three TOML configs of a demo run (decoder, left camera, right camera)."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from pipeline.codec.video.settings import VIDEO_CODECS, crf_of_quality

MAX_AGE_MS = 30_000.0
"""How long a view waits for its partner in the demo. The two synthetic cameras stand in for a
triggered rig but are free-running processes: on a busy machine each encodes at its own pace,
so the same ``seq`` can be captured seconds apart on the two sides (2-8 s seen on a loaded
2-core CPU, where the demo's earlier 5 s left half the left views without side information).
Every frame of a demo camera does come, so waiting longer only costs latency. A real rig keeps
``configs/decoder.toml``'s 500 ms: a hardware trigger holds its views together."""


@dataclass(frozen=True)
class DemoPlan:
    """What one demo run does and where it writes."""

    frames: int
    fps: float
    width: int
    height: int
    seed: int
    quality: int | None
    out: Path
    decode_threads: int = 2
    codec: str = "dsin"

    @property
    def decoded_dir(self) -> Path:
        """Where the decoder's PNG sink writes."""
        return self.out / "decoded"

    @property
    def timing_path(self) -> Path:
        """The decoder's per-frame timing records."""
        return self.out / "timing.jsonl"


@dataclass(frozen=True)
class Ports:
    """Loopback ports picked for one run."""

    frames: int
    decoder_http: int
    left_metrics: int
    right_metrics: int


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pick_ports() -> Ports:
    """Four distinct free ports."""
    ports: list[int] = []
    while len(ports) < 4:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return Ports(*ports)


def decoder_toml(plan: DemoPlan, ports: Ports) -> str:
    """The decoder config: sequence pairing (the synthetic rig is triggered), PNG and timing."""
    return f"""\
drain_timeout_s = 20.0

[receiver]
bind = "tcp://127.0.0.1:{ports.frames}"
rcvhwm = 10000

[pairing]
mode = "sequence"
max_age_ms = {MAX_AGE_MS}
queue_size = 256

[batching]
max_batch = 4
max_wait_ms = 50.0
backlog = {max(64, 2 * plan.frames)}

[codec]
device = "auto"
torch_threads = {plan.decode_threads}

[http]
host = "127.0.0.1"
port = {ports.decoder_http}

[[sinks]]
type = "png"
dir = "{plan.decoded_dir.as_posix()}"
left_alone = true

[[sinks]]
type = "timing"
path = "{plan.timing_path.as_posix()}"
"""


def camera_toml(plan: DemoPlan, ports: Ports, side: str) -> str:
    """One camera node's config: the synthetic scene, N frames at the demo's rate; a video
    codec's stream with a keyframe a second (its default)."""
    metrics = ports.left_metrics if side == "left" else ports.right_metrics
    quality, video = "", ""
    if plan.quality is not None and plan.codec in VIDEO_CODECS:  # quality = 100 - crf
        video = f"[video]\ncrf = {crf_of_quality(plan.quality)}\n\n"
    elif plan.quality is not None:
        quality = f"quality = {plan.quality}\n"
    return f"""\
rig_id = "demo"
side = "{side}"
endpoint = "tcp://127.0.0.1:{ports.frames}"
fps = {plan.fps}
frames = {plan.frames}
codec = "{plan.codec}"
{quality}send_queue = {max(8, plan.frames)}
flush_s = 10.0
metrics_port = {metrics}
metrics_addr = "127.0.0.1"

{video}[source]
type = "synthetic"
width = {plan.width}
height = {plan.height}
seed = {plan.seed}
"""


def write_configs(plan: DemoPlan, ports: Ports) -> dict[str, Path]:
    """Write the three configs under ``<out>/configs``; returns name -> path."""
    folder = plan.out / "configs"
    folder.mkdir(parents=True, exist_ok=True)
    texts = {
        "decoder": decoder_toml(plan, ports),
        "camera-left": camera_toml(plan, ports, "left"),
        "camera-right": camera_toml(plan, ports, "right"),
    }
    paths = {}
    for name, text in texts.items():
        paths[name] = folder / f"{name}.toml"
        paths[name].write_text(text, encoding="utf-8")
    return paths
