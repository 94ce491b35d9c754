"""Load on a real decoder process: N rigs at F frames a second over loopback ZeroMQ.

A sender stands in for the cameras (so their CPU does not count): it encodes real frames
beforehand, then pushes them as N rigs, both views of each, at F fps per rig for ``--seconds``,
with fresh capture times, from one PUSH socket. An image codec's sender codes a few real pairs
(``--size``: oakd 640x480 or karlsruhe 1344x372) and sends them over and over; a video codec's
(``--codec h264``, ``hevc``, ``av1``) codes one stream per side of consecutive frames of a real
sequence (``--sequence``, cropped to ``--size``, played forwards and backwards as long as the
run needs; a keyframe a second at the rig's rate), sent as protocol version 2, one packet after
the other. The decoder daemon (``stereo-pipeline decoder``, sequence pairing, a timing sink)
runs as its own process, once for each SI-Finder setting of ``--finders`` (``warm``: its warm
start, ``full``: a whole search for every pair). For each load of ``--rates`` (pairs a second
in all = rigs x fps) the report gives the pairs decoded per second while the load ran,
end-to-end latency percentiles (capture to output, one host's clock), per-stage medians (ms a
pair), the SI-Finder's searches, and drops by reason; ``sustained_pairs_per_s`` is the highest
load whose p99 stayed under ``--p99-bound`` with nothing dropped.

    python -m benchmarks.pipeline_load --rates 0.5 1 2 --rigs 2 --out out/bench/load.json
    python -m benchmarks.pipeline_load --codec h264 --rigs 1 --rates 5 --finders warm full
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import zmq

from benchmarks.common import DATA, environment, write_report
from benchmarks.decode_throughput import SIZES, STAGES, batch_stages, encode
from pipeline.codec import Role, read_header
from pipeline.codec.inputs import read_image
from pipeline.codec.video.settings import VIDEO_CODECS
from pipeline.training.data.datasets import list_pairs
from pipeline.wire import FrameHeader, StreamInfo, encode_frame, version_for
from stereo_app.demo.processes import by_label, health, scrape, spawn, stop, wait_until
from stereo_app.demo.setup import pick_ports


def decoder_toml(frames_port: int, http_port: int, timing: Path, args, warm: bool) -> str:
    """The daemon's config: sequence pairing, a timing sink, the given device and batch, the
    SI-Finder's warm start on or off."""
    ensemble = args.self_ensemble if args.self_ensemble.isdigit() else f'"{args.self_ensemble}"'
    return f"""
drain_timeout_s = 120.0
[receiver]
bind = "tcp://127.0.0.1:{frames_port}"
rcvhwm = 100000
[pairing]
mode = "sequence"
max_age_ms = 10000.0
queue_size = 4096
[batching]
max_batch = {args.batch}
max_wait_ms = {args.max_wait_ms}
backlog = 100000
[codec]
device = "{args.device}"
self_ensemble = {ensemble}
torch_threads = {args.torch_threads}
si_warm_start = {"true" if warm else "false"}
[http]
host = "127.0.0.1"
port = {http_port}
[[sinks]]
type = "timing"
path = "{timing.as_posix()}"
"""


Coded = Callable[[int], tuple[tuple[bytes, StreamInfo | None], tuple[bytes, StreamInfo | None]]]
"""Frame ``seq``'s (left, right) bitstreams, each with its video stream position (None for an
image codec)."""


def image_pairs(pairs: list[tuple[bytes, bytes]]) -> Coded:
    """An image codec's pairs, sent over and over."""
    return lambda seq: tuple((data, None) for data in pairs[seq % len(pairs)])


def video_streams(folder: Path, codec: str, size: str, fps: float, count: int) -> Coded:
    """Two streams (left, right) of ``count`` consecutive frames of the sequence in ``folder``,
    centre-cropped to ``size``, played forwards then backwards as often as needed, each coded
    as a camera codes it (a keyframe a second at ``fps``); frame ``seq`` is packet ``seq``."""
    from pipeline.codec.video.camera import VideoCameraEncoder
    from pipeline.codec.video.settings import VideoSettings

    width, height = map(int, size.split("x"))
    pairs = list_pairs([folder])
    bounce = [*range(len(pairs)), *range(len(pairs) - 2, 0, -1)] or [0]
    order = [bounce[i % len(bounce)] for i in range(count)]
    streams = []
    for side, role in enumerate((Role.PRIMARY, Role.SIDE)):
        images = [_crop(read_image(path), height, width) for path in (p[side] for p in pairs)]
        encoder = VideoCameraEncoder(VideoSettings(codec=codec, fps=fps))
        stream = []
        for index in order:
            data = encoder.encode(images[index], role)
            stream.append((data, encoder.stream))
        encoder.close()
        streams.append(stream)
    return lambda seq: (streams[0][seq], streams[1][seq])


def _crop(image: np.ndarray, height: int, width: int) -> np.ndarray:
    if image.shape[0] < height or image.shape[1] < width:
        raise ValueError(f"a {image.shape[1]}x{image.shape[0]} sequence is smaller than the size")
    top, left = (image.shape[0] - height) // 2, (image.shape[1] - width) // 2
    return np.ascontiguousarray(image[top : top + height, left : left + width])


def send(push: zmq.Socket, coded: Coded, rigs: int, fps: float, seconds: float, seq0: int) -> int:
    """Push ``rigs`` rigs' pairs at ``fps`` each for ``seconds``; the next free seq."""
    period, start, seq = 1.0 / fps, time.monotonic(), seq0
    while time.monotonic() - start < seconds:
        due = start + (seq - seq0) * period
        time.sleep(max(0.0, due - time.monotonic()))
        capture = time.time_ns()
        for rig in range(rigs):
            for side, (data, stream) in zip(("left", "right"), coded(seq), strict=True):
                h = read_header(data)
                header = FrameHeader(
                    version_for(stream),
                    f"load{rig}",
                    side,
                    seq,
                    capture,
                    time.time_ns(),
                    h.model_id,
                    h.quality,
                    h.height,
                    h.width,
                    h.channels,
                    stream=stream,
                )
                push.send_multipart(encode_frame(header, data))
        seq += 1
    return seq


def records(timing: Path, since_ns: int) -> list[dict]:
    """The timing records of the left views captured after ``since_ns``, in output order."""
    if not timing.exists():
        return []
    lines = [json.loads(line) for line in timing.read_text().splitlines() if line]
    return [r for r in lines if r["side"] == "left" and r["capture_ns"] >= since_ns]


def latencies(timing: Path, since_ns: int) -> list[float]:
    """End-to-end seconds of the left views captured after ``since_ns``."""
    return [r["end_to_end"] for r in records(timing, since_ns)]


def stage_medians(rows: list[dict]) -> dict[str, float | None]:
    """Median ms a pair of each batch stage (a batch's seconds over its pairs), and the median
    ms of each pair's own stages (queue, receive-stage video decode of both views, sinks)."""
    batches = batch_stages(rows)
    out: dict[str, float | None] = {
        s: 1000 * statistics.median(st[s] / n for st, n in batches) if batches else None
        for s in STAGES
    }
    for own in ("queue", "stream_decode", "sink"):
        values = [r[own] for r in rows if own in r]
        out[own] = 1000 * statistics.median(values) if values else None
    return out


def measure(push, port: int, timing: Path, coded: list, rate: float, args, seq0: int):
    """Run one load level; its figures and the next free seq."""
    fps = rate / args.rigs
    before = scrape(port) or {}
    since = time.time_ns()
    seq = send(push, coded, args.rigs, fps, args.seconds, seq0)
    expected = (seq - seq0) * args.rigs
    decoded = lambda: len(latencies(timing, since))  # noqa: E731
    wait_until(lambda: decoded() >= expected, args.drain)
    wall = (time.time_ns() - since) / 1e9
    rows = records(timing, since)
    values = [r["end_to_end"] for r in rows]
    after = scrape(port) or {}
    figures = {
        "offered_pairs_per_s": rate,
        "rigs": args.rigs,
        "pairs_sent": expected,
        "pairs_decoded": len(values),
        "decoded_pairs_per_s": len(values) / wall,
        "end_to_end_s": {
            f"p{q}": float(np.percentile(values, q)) if values else None for q in (50, 95, 99)
        },
        "stage_ms_per_pair": stage_medians(rows),
        "si_searches": _delta(before, after, "stereo_decoder_si_searches_total", "search"),
        "drops": _delta(before, after, "stereo_decoder_frames_dropped_total", "reason"),
    }
    return figures, seq


def _delta(before: dict, after: dict, name: str, label: str) -> dict[str, float]:
    """The growth of ``name`` per value of ``label`` (values that grew)."""
    old, new = by_label(before, name, label), by_label(after, name, label)
    return {k: v - old.get(k, 0.0) for k, v in new.items() if v - old.get(k, 0.0)}


def frames_needed(args) -> int:
    """Frames a run sends at most: every level's, with a margin for the sender's lateness."""
    return sum(math.ceil(rate / args.rigs * args.seconds) + 2 for rate in args.rates)


def run_decoder(coded: Coded, args, warm: bool) -> tuple[str | None, list[dict]]:
    """Start a daemon with the warm start on or off, step through the loads, stop it; the
    device it reported and each level's figures."""
    ports = pick_ports()
    results, seq, device = [], 0, None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        timing = folder / "timing.jsonl"
        (folder / "decoder.toml").write_text(
            decoder_toml(ports.frames, ports.decoder_http, timing, args, warm)
        )
        decoder = spawn("decoder", ["decoder", "--config", str(folder / "decoder.toml")], folder)
        context = zmq.Context()
        push = context.socket(zmq.PUSH)
        try:
            ok = wait_until(lambda: (health(ports.decoder_http) or {}).get("status") == "ok", 300)
            if not ok:
                log = (folder / "decoder.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"the decoder did not start:\n{log}")
            push.connect(f"tcp://127.0.0.1:{ports.frames}")
            device = (health(ports.decoder_http) or {}).get("device")
            for rate in args.rates:
                figures, seq = measure(push, ports.decoder_http, timing, coded, rate, args, seq)
                results.append({"finder": "warm" if warm else "full", **figures})
                print(results[-1], flush=True)
        finally:
            push.close(linger=0)
            context.term()
            stop(decoder, 150.0)
    return device, results


def sustained(results: list[dict], bound: float) -> float | None:
    """The highest offered load whose p99 stayed under ``bound`` with every pair decoded."""
    passing = [
        r["offered_pairs_per_s"]
        for r in results
        if r["end_to_end_s"]["p99"] is not None
        and r["end_to_end_s"]["p99"] < bound
        and not r["drops"]
        and r["pairs_decoded"] >= r["pairs_sent"]
    ]
    return max(passing) if passing else None


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Start the daemon, step through the loads, stop it; print and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", nargs="+", type=float, default=[0.5, 1.0, 2.0, 4.0])
    parser.add_argument("--rigs", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20.0, help="per load level")
    parser.add_argument("--drain", type=float, default=120.0, help="wait for the backlog")
    parser.add_argument("--size", choices=list(SIZES), default="640x480")
    parser.add_argument("--codec", default="dsin")
    parser.add_argument("--sequence", default="euroc_v1_01", help="a video codec's frames")
    parser.add_argument("--finders", nargs="+", choices=("warm", "full"), default=["warm"])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--self-ensemble", default="auto")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--torch-threads", type=int, default=0, help="the decoder's; 0: torch's")
    parser.add_argument("--max-wait-ms", type=float, default=20.0)
    parser.add_argument("--p99-bound", type=float, default=1.0, help="seconds")
    parser.add_argument("--data", type=Path, default=DATA / "stereo")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if args.codec in VIDEO_CODECS:
        fps = max(args.rates) / args.rigs
        coded = video_streams(
            args.data / args.sequence, args.codec, args.size, fps, frames_needed(args)
        )
    else:
        coded = image_pairs(encode(args.data / SIZES[args.size], 4, args.codec, None))
    runs = {finder: run_decoder(coded, args, finder == "warm") for finder in args.finders}
    report = {
        "benchmark": "pipeline_load",
        "device": next((device for device, _ in runs.values() if device), None),
        "size": args.size,
        "codec": args.codec,
        "sequence": args.sequence if args.codec in VIDEO_CODECS else SIZES[args.size],
        "batch": args.batch,
        "p99_bound_s": args.p99_bound,
        "sustained_pairs_per_s": {f: sustained(r, args.p99_bound) for f, (_, r) in runs.items()},
        "levels": [level for _, results in runs.values() for level in results],
        "environment": environment(),
    }
    write_report(report, args.out)
    return report


if __name__ == "__main__":
    main()
