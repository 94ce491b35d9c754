"""Sharding over real processes: two decoders, four rigs, scale-out from one decoder to two.

Rigs and their replica of two (``docs/sharding.md``): ``rig3`` (0) is two real camera nodes
whose endpoint template ``ipc://.../d-{index}.ipc`` picks their decoder; ``rig0``, ``rig1`` (1)
and ``rig4`` (0) come from a sender of pre-encoded JPEG frames. The scale-out follows the
documented procedure: decoder 0 serves every rig (``replicas = 1``); decoder 1 starts with
``replicas = 2``; the rigs it wins move to it (rig1's two views at once, as one pod; rig0's
one view after the other, as two systemd units); decoder 0 restarts with ``replicas = 2``.
Checked: each decoder's ``/metrics`` names only its own rigs; a frame sent to the wrong decoder
is refused as ``wrong_shard``; no decoder drops a frame; what is lost is what the doc says: a
frame in flight per view as decoder 0 stops, and what a camera of decoder 0's rigs captured
while decoder 0 restarted beyond the 12 frames it holds; views decoded without their partner
only while rig0's two views were split, or as decoder 0 stopped.
"""

from __future__ import annotations

import itertools
import json
import re
import signal
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
import zmq

from stereo_app.demo.processes import Child, camera_counts, health, scrape, spawn, stop, wait_until
from stereo_app.demo.setup import free_port
from tests.integration.configs import camera_toml, cpu_decoder_toml
from tests.integration.frame_sender import FrameSender, Sent, encoded_pair, frame_message

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

FPS = 5.0
SLOP_MS = 110.0  # over half a period: two free-running cameras always have a partner in reach
ENV = {"OMP_NUM_THREADS": "1"}
RECEIVED = "stereo_decoder_frames_received_total"
REFUSED = "stereo_decoder_malformed_messages_total"
STOPPED = re.compile(r"decoder stopped: (.*)$", re.M)


def decoder_toml(tmp: Path, name: str, index: int, replicas: int, http_port: int) -> str:
    pairing = f'mode = "timestamp"\nslop_ms = {SLOP_MS}\nmax_age_ms = 1500.0'
    return cpu_decoder_toml(
        f"ipc://{tmp}/d-{index}.ipc", http_port, pairing=pairing, head="drain_timeout_s = 60.0"
    ) + (
        f'[[sinks]]\ntype = "timing"\npath = "{tmp}/{name}.jsonl"\n'
        f"[shard]\nreplicas = {replicas}\nindex = {index}\n"
    )


def rig3_camera_toml(tmp: Path, side: str) -> str:
    return camera_toml(
        "rig3",
        side,
        f"ipc://{tmp}/d-{{index}}.ipc",
        codec="jpeg",
        fps=FPS,
        flush_s=10.0,
        metrics_port=0,
        shard={"replicas": 1},
    )


def start_decoder(tmp: Path, name: str, index: int, replicas: int) -> tuple[Child, int]:
    port = free_port()
    (tmp / f"{name}.toml").write_text(decoder_toml(tmp, name, index, replicas, port))
    return spawn(name, ["decoder", "--config", str(tmp / f"{name}.toml")], tmp, ENV), port


def start_cameras(tmp: Path) -> list[Child]:
    cameras = []
    for side in ("left", "right"):
        (tmp / f"{side}.toml").write_text(rig3_camera_toml(tmp, side))
        cameras.append(spawn(side, ["camera", "--config", str(tmp / f"{side}.toml")], tmp, ENV))
    return cameras


def ready(port: int) -> bool:
    return (health(port) or {}).get("status") == "ok"


def rigs_received(port: int) -> set[str]:
    samples = scrape(port) or {}
    return {dict(labels)["rig"] for (name, labels), v in samples.items() if name == RECEIVED and v}


def refused(port: int, reason: str) -> float:
    samples = scrape(port) or {}
    return sum(v for (n, lab), v in samples.items() if n == REFUSED and ("reason", reason) in lab)


def send_one(endpoint: str, rig: str) -> None:
    """One left view of ``rig`` to ``endpoint``: a camera that kept a stale endpoint."""
    context = zmq.Context()
    push = context.socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 5000)
    push.connect(endpoint)
    push.send_multipart(frame_message(rig, "left", 10**6, time.time_ns(), encoded_pair()["left"]))
    push.close()
    context.term()


def records(tmp: Path) -> list[dict]:
    out = []
    for path in tmp.glob("*.jsonl"):
        for line in path.read_text().splitlines():
            out.append({**json.loads(line), "decoder": path.stem})
    return out


def final_counts(child: Child) -> dict[str, int]:
    text = Path(child.log.name).read_text(errors="replace")
    return {k: int(v) for k, v in (kv.split("=") for kv in STOPPED.findall(text)[-1].split())}


@dataclass
class Moments:
    """Wall-clock times (ns) of the scale-out's steps."""

    split: int = 0  # rig0's left view moved
    joined: int = 0  # rig0's right view followed
    down: int = 0  # decoder 0 told to stop
    up: int = 0  # decoder 0 ready again


def test_scale_out_from_one_decoder_to_two(tmp_path: Path) -> None:
    d0, port0 = start_decoder(tmp_path, "d0-old", 0, 1)
    d1, port1 = start_decoder(tmp_path, "d1", 1, 2)
    endpoint = {i: f"ipc://{tmp_path}/d-{i}.ipc" for i in (0, 1)}
    sender = FrameSender({rig: endpoint[0] for rig in ("rig0", "rig1", "rig4")}, FPS)
    decoders, cameras, at = [d0, d1], [], Moments()
    try:
        assert wait_until(lambda: ready(port0) and ready(port1), 180), "decoders did not start"
        # A torch-free camera starts in a second, a decoder in many: start the cameras once the
        # decoders are up, so the only frames a camera drops are those of decoder 0's restart.
        cameras = start_cameras(tmp_path)
        sender.start()
        assert wait_until(lambda: rigs_received(port0) == {"rig0", "rig1", "rig3", "rig4"}, 120)
        send_one(endpoint[1], "rig4")  # rig4 is replica 0's: decoder 1 refuses it
        assert wait_until(lambda: refused(port1, "wrong_shard") == 1, 20)
        at.split = time.time_ns()  # move the rigs decoder 1 wins
        sender.route("rig1", endpoint[1])
        sender.route("rig0", endpoint[1], ("left",))
        time.sleep(1.0)
        sender.route("rig0", endpoint[1], ("right",))
        at.joined = time.time_ns()
        time.sleep(1.0)
        at.down = time.time_ns()  # then decoder 0 restarts knowing there are two replicas
        assert stop(d0, 90.0) == 0
        d0_new, port0 = start_decoder(tmp_path, "d0-new", 0, 2)
        decoders.append(d0_new)
        assert wait_until(lambda: ready(port0), 180), "decoder 0 did not restart"
        at.up = time.time_ns()
        assert wait_until(lambda: rigs_received(port0) == {"rig3", "rig4"}, 60)
        assert rigs_received(port1) == {"rig0", "rig1"}
        send_one(endpoint[0], "rig1")  # a stale endpoint: decoder 0 refuses it now
        assert wait_until(lambda: refused(port0, "wrong_shard") == 1, 20)
    finally:
        sent = sender.stop()
        for child in cameras + decoders:
            if child.poll() is None:
                child.proc.send_signal(signal.SIGTERM)
        # signalled once, all together: a second SIGTERM means "exit at once" (code 143)
        codes = {c.name: stop(c, 90.0, sig=None) for c in cameras + decoders}
    assert codes == {"left": 0, "right": 0, "d0-old": 0, "d1": 0, "d0-new": 0}
    check_decoders(decoders)
    decoded = records(tmp_path)
    check_sender_rigs(decoded, sent, sender.dropped, at)
    check_camera_rig(decoded, cameras, at)
    got = {(r["rig"], r["side"], r["capture_ns"]) for r in decoded}
    lost = sum((s.rig, s.side, s.capture_ns) not in got for s in sent)
    lone = Counter(r["rig"] for r in decoded if not r["paired"])
    print(
        f"decoder 0 away {(at.up - at.down) / 1e9:.1f} s; cameras "
        f"{[camera_counts(c) for c in cameras]}; sender lost {lost}, could not buffer "
        f"{len(sender.dropped)}; unpaired views by rig {dict(lone)}"
    )


def check_decoders(decoders: list[Child]) -> None:
    """No drops anywhere; one refusal on each decoder that ran with two replicas."""
    for child in decoders:
        counts = final_counts(child)
        assert not [k for k, v in counts.items() if k.startswith("dropped_") and v], counts
        refusals = {k: v for k, v in counts.items() if k.startswith("refused_") and v}
        expected = {} if child.name == "d0-old" else {"refused_wrong_shard": 1}
        assert refusals == expected, (child.name, refusals)


def check_sender_rigs(decoded: list[dict], sent: list[Sent], dropped: list[Sent], at) -> None:
    where = {(r["rig"], r["decoder"]) for r in decoded}
    assert where == {
        ("rig0", "d0-old"),
        ("rig1", "d0-old"),
        ("rig3", "d0-old"),
        ("rig4", "d0-old"),
        ("rig0", "d1"),
        ("rig1", "d1"),
        ("rig3", "d0-new"),
        ("rig4", "d0-new"),
    }
    got = {(r["rig"], r["side"], r["capture_ns"]) for r in decoded}
    for rig, side in itertools.product(("rig0", "rig1", "rig4"), ("left", "right")):
        mine = [s for s in sent if (s.rig, s.side) == (rig, side)]
        lost = [s for s in mine if (s.rig, s.side, s.capture_ns) not in got]
        assert len(lost) <= (1 if rig == "rig4" else 0), (rig, side, len(mine), lost)
    assert all(d.rig == "rig4" and at.down <= d.capture_ns <= at.up + 2e9 for d in dropped)
    lone = [r for r in decoded if not r["paired"] and r["rig"] != "rig3"]
    split = [r for r in lone if r["rig"] == "rig0" and at.split <= r["capture_ns"] <= at.joined]
    assert len(lone) - len(split) <= 2, lone  # a view waiting for its partner as decoder 0 stopped
    assert 0 < len(split) <= 2 * FPS * 1.0 + 2, split


def check_camera_rig(decoded: list[dict], cameras: list[Child], at) -> None:
    outage_s = (at.up - at.down) / 1e9
    for camera in cameras:
        counts = camera_counts(camera)
        views = sum(r["rig"] == "rig3" and r["side"] == camera.name for r in decoded)
        assert counts["sent"] - 1 <= views <= counts["sent"], (camera.name, counts, views)
        assert counts["captured"] == counts["sent"] + counts["dropped_queue_full"], counts
        assert counts["dropped_queue_full"] <= max(0.0, outage_s * FPS - 12) + 2, (counts, outage_s)
