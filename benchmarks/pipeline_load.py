"""Load on a real decoder process: N rigs at F frames a second over loopback ZeroMQ.

A sender stands in for the cameras (so their CPU does not count): it encodes a few real pairs
once (``--size``: oakd 640x480 or karlsruhe 1344x372), then pushes them as N rigs, both views
of each, at F fps per rig for ``--seconds``, with fresh capture times, from one PUSH socket.
The decoder daemon (``stereo-pipeline decoder``, sequence pairing, a timing sink) runs as its
own process. For each load of ``--rates`` (pairs a second in all = rigs x fps) the report gives
the pairs decoded per second while the load ran, end-to-end latency percentiles (capture to
output, one host's clock), and drops by reason; ``sustained_pairs_per_s`` is the highest load
whose p99 stayed under ``--p99-bound`` with nothing dropped.

    python -m benchmarks.pipeline_load --rates 0.5 1 2 --rigs 2 --out out/bench/load.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import zmq

from benchmarks.common import DATA, environment, write_report
from benchmarks.decode_throughput import SIZES, encode
from pipeline.codec import read_header
from pipeline.wire import PROTOCOL_VERSION, FrameHeader, encode_frame
from stereo_app.demo.processes import by_label, health, scrape, spawn, stop, wait_until
from stereo_app.demo.setup import pick_ports


def decoder_toml(frames_port: int, http_port: int, timing: Path, args) -> str:
    """The daemon's config: sequence pairing, a timing sink, the given device and batch."""
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
[http]
host = "127.0.0.1"
port = {http_port}
[[sinks]]
type = "timing"
path = "{timing.as_posix()}"
"""


def send(push: zmq.Socket, coded: list, rigs: int, fps: float, seconds: float, seq0: int) -> int:
    """Push ``rigs`` rigs' pairs at ``fps`` each for ``seconds``; the next free seq."""
    period, start, seq = 1.0 / fps, time.monotonic(), seq0
    while time.monotonic() - start < seconds:
        due = start + (seq - seq0) * period
        time.sleep(max(0.0, due - time.monotonic()))
        capture = time.time_ns()
        left, right = coded[seq % len(coded)]
        for rig in range(rigs):
            for side, data in (("left", left), ("right", right)):
                h = read_header(data)
                header = FrameHeader(
                    PROTOCOL_VERSION,
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
                )
                push.send_multipart(encode_frame(header, data))
        seq += 1
    return seq


def latencies(timing: Path, since_ns: int) -> list[float]:
    """End-to-end seconds of the left views captured after ``since_ns``."""
    if not timing.exists():
        return []
    records = [json.loads(line) for line in timing.read_text().splitlines() if line]
    return [r["end_to_end"] for r in records if r["side"] == "left" and r["capture_ns"] >= since_ns]


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
    values = latencies(timing, since)
    after = scrape(port) or {}
    drops = by_label(after, "stereo_decoder_frames_dropped_total", "reason")
    old = by_label(before, "stereo_decoder_frames_dropped_total", "reason")
    figures = {
        "offered_pairs_per_s": rate,
        "rigs": args.rigs,
        "pairs_sent": expected,
        "pairs_decoded": len(values),
        "decoded_pairs_per_s": len(values) / wall,
        "end_to_end_s": {
            f"p{q}": float(np.percentile(values, q)) if values else None for q in (50, 95, 99)
        },
        "drops": {k: v - old.get(k, 0.0) for k, v in drops.items() if v - old.get(k, 0.0)},
    }
    return figures, seq


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Start the daemon, step through the loads, stop it; print and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", nargs="+", type=float, default=[0.5, 1.0, 2.0, 4.0])
    parser.add_argument("--rigs", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20.0, help="per load level")
    parser.add_argument("--drain", type=float, default=120.0, help="wait for the backlog")
    parser.add_argument("--size", choices=list(SIZES), default="640x480")
    parser.add_argument("--codec", default="dsin")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--self-ensemble", default="auto")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--max-wait-ms", type=float, default=20.0)
    parser.add_argument("--p99-bound", type=float, default=1.0, help="seconds")
    parser.add_argument("--data", type=Path, default=DATA / "stereo")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    coded = encode(args.data / SIZES[args.size], 4, args.codec, None)
    ports = pick_ports()
    results, seq = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        timing = folder / "timing.jsonl"
        (folder / "decoder.toml").write_text(
            decoder_toml(ports.frames, ports.decoder_http, timing, args)
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
                results.append(figures)
                print(figures, flush=True)
        finally:
            push.close(linger=0)
            context.term()
            stop(decoder, 150.0)
    passing = [
        r["offered_pairs_per_s"]
        for r in results
        if r["end_to_end_s"]["p99"] is not None
        and r["end_to_end_s"]["p99"] < args.p99_bound
        and not r["drops"]
        and r["pairs_decoded"] >= r["pairs_sent"]
    ]
    report = {
        "benchmark": "pipeline_load",
        "device": device,
        "size": args.size,
        "codec": args.codec,
        "batch": args.batch,
        "p99_bound_s": args.p99_bound,
        "sustained_pairs_per_s": max(passing) if passing else None,
        "levels": results,
        "environment": environment(),
    }
    write_report(report, args.out)
    return report


if __name__ == "__main__":
    main()
