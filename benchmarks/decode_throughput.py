"""Decode throughput of the daemon's own decode path: batcher, entropy and model threads, sinks.

Real pairs (``--sizes``: oakd 640x480, karlsruhe 1344x372) are encoded once on the CPU (left
primary, right side, the camera's default quality and codec), then for every batch size of
``--batches`` and every SI-Net pass count of ``--ensembles`` the same ``--pairs`` pairs are put
into a :class:`~decoder_node.batching.DynamicBatcher` and decoded by
:class:`~decoder_node.decode_workers.DecodeWorkers` (the entropy thread overlapped with the model
thread, exactly as the daemon runs them) into the configured sink (``none`` or ``png``).
Reported per setting: sustained pairs/s (all pairs queued at once, first put to last sink
write), per-stage milliseconds per pair (medians over batches), the p50 / p99 of each batch's
decode time (what a pair waits once its batch starts), device and versions, as JSON.

    python -m benchmarks.decode_throughput --device cpu --batches 1 4 --out out/bench/tp.json
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from prometheus_client import CollectorRegistry

from benchmarks.common import DATA, environment, write_report
from decoder_node.batching import DynamicBatcher
from decoder_node.config import BatchingConfig, NullSinkConfig, PngSinkConfig
from decoder_node.decode_workers import DecodeWorkers
from decoder_node.frames import DecodedItem, ReceivedFrame, StereoItem
from decoder_node.metrics import FrameDrops
from decoder_node.sinks import SinkSet, build_sink
from decoder_node.sinks.base import Sink
from pipeline.codec import ImageEncoder, Role, StereoDecoder, read_header
from pipeline.codec.inputs import read_image
from pipeline.training.data.datasets import list_pairs
from pipeline.wire import PROTOCOL_VERSION, FrameHeader

SIZES = {"640x480": "oakd", "1344x372": "karlsruhe_0023"}


class _Clock(Sink):
    """Records when each item leaves the sinks and each batch's stage seconds."""

    def __init__(self, expected: int) -> None:
        self.done = threading.Event()
        self.expected = expected
        self.records: list[dict[str, float]] = []

    def write(self, decoded: DecodedItem) -> None:
        self.records.append({"end": time.monotonic(), **decoded.timings})
        if len(self.records) >= self.expected:
            self.done.set()


def encode(folder: Path, count: int, codec: str, quality: int | None) -> list[tuple[bytes, bytes]]:
    """``count`` (left, right) bitstreams of real pairs, repeating the folder's pairs if short."""
    if codec == "dsin":  # ImageEncoder keeps the benchmark runnable on older checkouts
        encoder = ImageEncoder()
    else:
        from pipeline.codec.family import make_encoder

        encoder = make_encoder(codec)
    pairs = list_pairs([folder])
    coded = [
        (
            encoder.encode(read_image(left), Role.PRIMARY, quality),
            encoder.encode(read_image(right), Role.SIDE, quality),
        )
        for left, right in pairs[: min(count, len(pairs))]
    ]
    return [coded[i % len(coded)] for i in range(count)]


def _item(seq: int, left: bytes, right: bytes) -> StereoItem:
    frames = []
    for side, data in (("left", left), ("right", right)):
        h = read_header(data)
        header = FrameHeader(
            PROTOCOL_VERSION,
            "bench",
            side,
            seq,
            1,
            1,
            h.model_id,
            h.quality,
            h.height,
            h.width,
            h.channels,
        )
        frames.append(ReceivedFrame(header, data, 1, time.monotonic()))
    return StereoItem("bench", frames[0], frames[1], time.monotonic())


def run(decoder: StereoDecoder, coded: list, batch: int, sink: str, out_dir: Path) -> dict:
    """Decode every pair through the daemon's workers once; the setting's figures."""
    registry = CollectorRegistry()
    drops = FrameDrops(registry)
    drops.rigs.add("bench")  # its slot, as the receiver gives one: decoded views are counted
    batcher = DynamicBatcher(
        BatchingConfig(max_batch=batch, max_wait_ms=5.0, backlog=100_000), drops, registry
    )
    clock = _Clock(len(coded))
    configured = PngSinkConfig(type="png", dir=out_dir) if sink == "png" else NullSinkConfig("none")
    sinks = SinkSet([build_sink(configured), clock], registry)
    sinks.open()
    workers = DecodeWorkers(decoder, batcher, sinks, drops, registry)
    start = time.monotonic()
    for seq, (left, right) in enumerate(coded):
        batcher.put(_item(seq, left, right))
    workers.start()
    if not clock.done.wait(3600):
        raise RuntimeError("the decode workers stopped before every pair was decoded")
    wall = time.monotonic() - start
    workers.drain(10.0)
    sinks.close()
    return _figures(clock.records, batch, wall)


STAGES = ("entropy_decode", "synthesis", "si_finder", "si_net")


def batch_stages(records: list[dict[str, float]]) -> list[tuple[dict[str, float], int]]:
    """(stage seconds, pairs) of each batch: its items are consecutive and share the stages."""
    found: list[tuple[dict[str, float], int]] = []
    for record in records:
        stages = {s: record.get(s, 0.0) for s in STAGES}
        if found and found[-1][0] == stages:
            found[-1] = (stages, found[-1][1] + 1)
        else:
            found.append((stages, 1))
    return found


def _figures(records: list[dict[str, float]], batch: int, wall: float) -> dict:
    batches = batch_stages(records)
    per_batch = [sum(stages.values()) for stages, _ in batches]
    return {
        "batch": batch,
        "pairs": len(records),
        "pairs_per_s": len(records) / wall,
        "stage_ms_per_pair": {
            s: 1000 * statistics.median(stages[s] / n for stages, n in batches) for s in STAGES
        },
        "batch_ms_p50": 1000 * float(np.percentile(per_batch, 50)),
        "batch_ms_p99": 1000 * float(np.percentile(per_batch, 99)),
    }


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run every setting and print (and write) the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--pairs", type=int, default=16, help="pairs decoded per setting")
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 2, 4, 8, 16, 32])
    parser.add_argument("--ensembles", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--codec", default="dsin")
    parser.add_argument("--quality", type=int, default=None)
    parser.add_argument("--sink", choices=("none", "png"), default="none")
    parser.add_argument("--data", type=Path, default=DATA / "stereo")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            coded = encode(args.data / SIZES[size], args.pairs, args.codec, args.quality)
            for ensemble in args.ensembles:
                decoder = StereoDecoder(device=args.device, self_ensemble=ensemble)
                warm = coded[: max(args.batches)]  # kernels, allocator, (CUDA) autotuning
                run(decoder, warm, max(args.batches), "none", Path(tmp))
                for batch in args.batches:
                    figures = run(decoder, coded, batch, args.sink, Path(tmp))
                    results.append({"size": size, "self_ensemble": ensemble, **figures})
                    print(results[-1], flush=True)
    report = {
        "benchmark": "decode_throughput",
        "device": str(decoder.device),
        "codec": args.codec,
        "sink": args.sink,
        "environment": environment(),
        "results": results,
    }
    write_report(report, args.out)
    return report


if __name__ == "__main__":
    main()
