"""``stereo-pipeline demo [--frames N] [--fps F] [--report FILE] [--out DIR]``.

Runs the decoder daemon and the left and right camera nodes as three processes over loopback
(configs, logs, decoded PNGs and per-frame timing records under ``--out``), then prints a report
and writes it as JSON. Exit code 0 when every process exited 0 and at least 95% of the frames
sent were decoded; 1 otherwise; 2 for bad arguments.

Streaming ends when every frame sent is decoded or dropped, when nothing has moved (no frame
received, decoded or dropped) for ``--stall`` seconds, or after ``--timeout`` seconds in all.
On a CPU the decoder is slower than the cameras and works through a backlog after they stop;
waiting on progress rather than on a fixed deadline lets a slow machine finish.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from pipeline.codec.standard import CAMERA_CODECS, DEFAULT_CAMERA_CODEC
from pipeline.help_text import command_parser
from stereo_app.demo import report as rpt
from stereo_app.demo.processes import (
    Child,
    Samples,
    by_label,
    camera_counts,
    health,
    scrape,
    spawn,
    stop,
    total,
    wait_until,
)
from stereo_app.demo.setup import DemoPlan, pick_ports, write_configs
from stereo_app.demo.status import Progress, Stall

RIG = "demo"
SIDES = ("left", "right")
MIN_DECODED = 0.95


def build_parser() -> argparse.ArgumentParser:
    """The demo's argument parser."""
    p = command_parser("stereo-pipeline demo", __doc__)
    p.add_argument("--frames", type=int, default=150, help="frames per camera (default 150)")
    p.add_argument("--fps", type=float, default=10.0, help="capture rate (default 10)")
    p.add_argument("--width", type=int, default=320, help="view width in pixels (default 320)")
    p.add_argument("--height", type=int, default=240, help="view height in pixels (default 240)")
    p.add_argument("--seed", type=int, default=0, help="synthetic scene seed")
    p.add_argument(
        "--codec",
        choices=CAMERA_CODECS,
        default=DEFAULT_CAMERA_CODEC,
        help=f"the cameras' codec (default {DEFAULT_CAMERA_CODEC}, the cameras' own default)",
    )
    p.add_argument(
        "--quality",
        type=int,
        help="codec quality (default: the codec's); a video codec's is 100 - its CRF",
    )
    p.add_argument("--out", type=Path, default=Path("out/demo"), help="output folder")
    p.add_argument("--report", type=Path, help="JSON report (default OUT/report.json)")
    p.add_argument("--psnr-frames", type=int, default=60, help="frames scored for PSNR")
    p.add_argument("--timeout", type=float, default=900.0, help="stop streaming after this many s")
    p.add_argument(
        "--stall", type=float, default=60.0, help="stop when nothing has moved for this many s"
    )
    p.add_argument("--decode-threads", type=int, default=2, help="decoder torch threads")
    return p


class Run:
    """The state of one demo run: its processes and the latest metric scrapes."""

    def __init__(self, plan: DemoPlan, timeout: float, stall: float) -> None:
        self.plan = plan
        self.ports = pick_ports()
        self.configs = write_configs(plan, self.ports)
        self.children: dict[str, Child] = {}
        self.camera: dict[str, Samples] = {}
        self.final: dict[str, dict[str, int]] = {}  # a stopped camera's logged counts
        self.decoder: Samples | None = None
        self.device = "unknown"
        self.started = time.monotonic()
        self.deadline = self.started + timeout
        self.stall = Stall(stall, self.started)
        self.progress = Progress()

    def start(self) -> None:
        """Start the decoder, wait until it is healthy, then start both cameras."""
        logs = self.plan.out / "logs"
        self.children["decoder"] = spawn(
            "decoder", ["decoder", "--config", str(self.configs["decoder"])], logs
        )
        port = self.ports.decoder_http
        if not wait_until(lambda: self._decoder_ready(port), timeout=180.0):
            raise RuntimeError(f"decoder did not become healthy; see {logs / 'decoder.log'}")
        for side in SIDES:
            name = f"camera-{side}"
            self.children[name] = spawn(name, ["camera", "--config", str(self.configs[name])], logs)

    def _decoder_ready(self, port: int) -> bool:
        if self.children["decoder"].poll() is not None:
            raise RuntimeError("decoder exited during start-up")
        doc = health(port)
        if doc and doc.get("status") == "ok":
            self.device = doc.get("device", "unknown")
            return True
        return False

    def stream(self) -> None:
        """Poll metrics and show progress until all frames are through or time is up."""
        stable = 0
        while time.monotonic() < self.deadline:
            self._scrape()
            self.progress.show(self._status())
            if self.children["decoder"].poll() is not None:
                raise RuntimeError("the decoder exited while streaming")
            stable = stable + 1 if self._all_through() else 0
            if stable >= 2:
                break
            if self.stall.stalled(self._moved(), time.monotonic()):
                self.progress.show(self._status(), final=True)
                raise RuntimeError(f"nothing moved for {self.stall.seconds:.0f} s; stopping")
            time.sleep(0.25)
        else:
            self.progress.show(self._status(), final=True)
            raise RuntimeError("--timeout reached before every frame was through")
        self.progress.show(self._status(), final=True)

    def _moved(self) -> int:
        """Frames sent, received, decoded or dropped so far: grows while anything moves."""
        return sum(self.sent(s) for s in SIDES) + sum(
            self._count(name)
            for name in (
                "stereo_decoder_frames_received_total",
                "stereo_decoder_frames_decoded_total",
                "stereo_decoder_frames_dropped_total",
            )
        )

    def _scrape(self) -> None:
        for side in SIDES:
            child = self.children.get(f"camera-{side}")
            if child is not None and child.poll() is None:
                port = self.ports.left_metrics if side == "left" else self.ports.right_metrics
                self.camera[side] = scrape(port) or self.camera.get(side, {})
            else:
                self._read_final(side)
        self.decoder = scrape(self.ports.decoder_http) or self.decoder

    def _read_final(self, side: str) -> None:
        child = self.children.get(f"camera-{side}")
        if child is not None and side not in self.final:
            counts = camera_counts(child)
            if counts is not None:
                self.final[side] = counts

    def sent(self, side: str) -> int:
        """Frames the camera sent: the counts it logged as it stopped, else its last scrape
        or what the decoder got if that is more."""
        if side in self.final:
            return self.final[side]["sent"]
        scraped = total(self.camera.get(side), "stereo_camera_frames_sent_total")
        got = total(self.decoder, "stereo_decoder_frames_received_total", side=side)
        return int(max(scraped, got))

    def camera_drops(self, side: str) -> dict[str, float]:
        """The camera's drops by reason: as logged when it stopped, else its last scrape."""
        if side in self.final:
            prefix = "dropped_"
            counts = self.final[side].items()
            return {k[len(prefix) :]: float(v) for k, v in counts if k.startswith(prefix)}
        return by_label(self.camera.get(side), "stereo_camera_frames_dropped_total", "reason")

    def _count(self, name: str, **labels: str) -> int:
        return int(total(self.decoder, name, **labels))

    def _all_through(self) -> bool:
        cameras_done = all(self.children[f"camera-{s}"].poll() is not None for s in SIDES)
        received = self._count("stereo_decoder_frames_received_total")
        done = self._count("stereo_decoder_frames_decoded_total")
        done += self._count("stereo_decoder_frames_dropped_total")
        sent = sum(self.sent(s) for s in SIDES)
        return cameras_done and received >= sent and done >= received

    def _status(self) -> str:
        sent = "/".join(str(self.sent(s)) for s in SIDES)
        decoded = "/".join(
            str(self._count("stereo_decoder_frames_decoded_total", side=s)) for s in SIDES
        )
        dropped = self._count("stereo_decoder_frames_dropped_total")
        pending = self._count("stereo_decoder_pending_pairs")
        elapsed = time.monotonic() - self.started
        return (
            f"[demo] sent L/R {sent}  decoded L/R {decoded}  dropped {dropped}  "
            f"pending {pending}  {elapsed:5.0f} s"
        )

    def shut_down(self) -> dict[str, int | None]:
        """SIGTERM every process still running (decoder last); their exit codes."""
        codes = {}
        for name in ("camera-left", "camera-right", "decoder"):
            if name in self.children:
                codes[name] = stop(self.children[name], timeout=60.0)
        for side in SIDES:
            self._read_final(side)
        return codes


def build_report(run: Run, codes: dict[str, int | None], psnr_frames: int) -> dict[str, Any]:
    """Everything the demo measured, as a JSON-able dict."""
    plan = run.plan
    records = rpt.read_timing(plan.timing_path)
    decoded = {s: sum(1 for r in records if r["side"] == s) for s in SIDES}
    sent = {s: run.sent(s) for s in SIDES}
    size = (plan.width, plan.height)
    scored = rpt.spread(rpt.paired_left_seqs(records), psnr_frames)
    samples = rpt.spread(rpt.paired_left_seqs(records), 3)
    report = {
        "frames_sent": sent,
        "frames_decoded": decoded,
        "frames_not_decoded": {s: sent[s] - decoded[s] for s in SIDES},
        "decoded_ratio": sum(decoded.values()) / max(1, sum(sent.values())),
        "frames_dropped": {
            "decoder": by_label(run.decoder, "stereo_decoder_frames_dropped_total", "reason"),
            "camera": {s: run.camera_drops(s) for s in SIDES},
            "malformed_messages": by_label(
                run.decoder, "stereo_decoder_malformed_messages_total", "reason"
            ),
        },
        "capture_slots_missed": {s: run.final.get(s, {}).get("missed_slots") for s in SIDES},
        "frames_paired": sum(1 for r in records if r["side"] == "left" and r["paired"]),
        "left_bpp": rpt.mean_bpp(records, "left"),
        "right_bpp": rpt.mean_bpp(records, "right"),
        **rpt.quality(plan.decoded_dir, RIG, scored, size, plan.seed),
        "latency": rpt.stage_latencies(records),
        "samples": rpt.save_samples(
            plan.decoded_dir, plan.out / "samples", RIG, samples, size, plan.seed
        ),
        "exit_codes": codes,
        "device": run.device,
        "config": {
            "codec": plan.codec,
            "frames": plan.frames,
            "fps": plan.fps,
            "width": plan.width,
            "height": plan.height,
            "seed": plan.seed,
        },
    }
    report["wall_seconds"] = round(time.monotonic() - run.started, 1)
    return report


def clean(out: Path) -> None:
    """Remove the outputs of an earlier run (only what the demo itself writes)."""
    for sub in ("decoded", "samples", "logs", "configs"):
        shutil.rmtree(out / sub, ignore_errors=True)
    (out / "timing.jsonl").unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    """Run the demo; see the module docstring for the exit codes."""
    args = build_parser().parse_args(argv)
    if args.frames < 1 or args.fps <= 0 or args.timeout <= 0 or args.stall <= 0:
        print("demo: --frames must be >= 1; --fps, --timeout and --stall > 0", file=sys.stderr)
        return 2
    plan = DemoPlan(
        args.frames,
        args.fps,
        args.width,
        args.height,
        args.seed,
        args.quality,
        args.out,
        args.decode_threads,
        args.codec,
    )
    clean(plan.out)
    run = Run(plan, args.timeout, args.stall)
    codes: dict[str, int | None] = {}
    try:
        run.start()
        run.stream()
    except RuntimeError as e:
        print(f"demo: {e}", file=sys.stderr)
    finally:
        codes = run.shut_down()
    report = build_report(run, codes, args.psnr_frames)
    path = args.report or plan.out / "report.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(rpt.format_report(report))
    print(f"report: {path}   images: {plan.out / 'samples'}   logs: {plan.out / 'logs'}")
    ok = all(code == 0 for code in codes.values()) and report["decoded_ratio"] >= MIN_DECODED
    return 0 if ok else 1
