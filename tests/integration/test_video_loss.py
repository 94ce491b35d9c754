"""Issue 29's loss test: two H.264 cameras through a lossy wire, then a decoder killed.

Real processes on loopback (no CURVE: the fault injector reads the headers): a decoder, the
fault injector (``tests/integration/fault_injector.py``) bound where the cameras send and
connected to the decoder, and two camera nodes (``codec = "h264"``, 10 fps, a keyframe a
second, the synthetic scene) subscribed to the decoder's keyframe requests (straight, not through
the injector). For 60 s (600 frames a side) the injector drops each message with probability 5%
(seeded, one RNG a side: the same packets of each stream are dropped whatever the
interleaving). The decoder's timing sink says which (side, seq) were decoded.

Checks: every frame received is decoded or dropped with a reason (``/metrics``, per rig and
side); every frame forwarded whose reference chain is whole (no packet of its stream lost
since the last keyframe forwarded; the camera's own keyframe flags in the injector's records,
so the keyframes a request forced count) is decoded, and no other; at least 75% of the frames
sent are decoded, and, with the requests, at least 85%, at most 3 frames lost a drop, and 9 in
10 of the gaps the decoder asked a keyframe for followed by one within 2 packets. Then, with
the drops off and two new cameras streaming, the decoder is SIGKILLed and started again on the
same endpoints: it joins the streams at their next keyframe.

With periodic keyframes alone, the share decoded is fixed by the seed: seed 0 drops 4.5% and
leaves 80.5% decodable; at 5% independent loss and 10 frames a keyframe the mean is 76.2%, and
13 of 40 seeds fall under 75%. A keyframe request makes a drop cost about 2 frames: 90.4% on
seed 0 (``docs/video.md``, Loss on the wire; ``STEREO_LOSS_SEED=N`` runs another seed).
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import astuple, dataclass
from pathlib import Path

import pytest

from stereo_app.demo.processes import (
    Child,
    Samples,
    camera_counts,
    health,
    scrape,
    spawn,
    stop,
    total,
)
from stereo_app.demo.setup import free_port, pick_ports
from tests.integration.configs import camera_toml, cpu_decoder_toml
from tests.integration.fault_injector import read_records, start_injector
from tests.integration.test_pipeline_processes import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

RIG = "lossy"
SIDES = ("left", "right")
FPS = 10.0
KEYFRAME_INTERVAL_S = 1.0
GOP = round(FPS * KEYFRAME_INTERVAL_S)
REQUEST_INTERVAL_S = 0.5
"""``[keyframe_requests] interval_s``: at most one request a stream this often."""
FRAMES = 600
"""60 s a camera at 10 fps."""
DROP = 0.05
SEED = int(os.environ.get("STEREO_LOSS_SEED", "0"))
"""The injector's seed (``STEREO_LOSS_SEED=N`` runs another: docs/video.md has figures of
several)."""
ENV = {"OMP_NUM_THREADS": "1"}
MAX_AGE_S = 0.5
"""``[pairing] max_age_ms``: how long a view waits for its partner (``configs/decoder.toml``'s
500 ms). A view whose partner was lost (dropped at receive) waits this long, then goes alone."""
RESTART_SLACK_S = 0.5
"""Beyond one keyframe interval, what the restarted decoder's first decoded frame may take to be
received and decoded: the test polls ``/healthz`` every 0.2 s (the ready time it takes can be
that late, which only helps), and a loaded camera captures a frame a period or two late
(``camera_nodes/pacing``). Its output may wait :data:`MAX_AGE_S` more in the pairer (the two
sides join at their own keyframes, and a view whose partner was dropped waits for it) plus its
batch's decode. Measured here, ready to the first frame received: -0.08 and 0.01 s; to the
first frame out: 0.19 to 1.12 s (1.22 s with a 1 s ``max_age_ms``, the CPU starved)."""
RECEIVED = "stereo_decoder_frames_received_total"
DECODED = "stereo_decoder_frames_decoded_total"
DROPPED = "stereo_decoder_frames_dropped_total"
REQUESTS = "stereo_decoder_keyframe_requests_total"
STREAM_DROPS = ("stream_gap", "waiting_keyframe")


@dataclass
class Outcome:
    """What the scenario observed."""

    wire: list[dict]
    """The injector's records of the 60 s of loss, in arrival order."""
    decoded: list[dict]
    """The decoder's timing records of the same frames."""
    samples: Samples
    """The decoder's /metrics once every frame of the 60 s was decoded or dropped."""
    sent: dict[str, int]
    """What each camera sent (its stop line)."""
    honoured: dict[str, int]
    """The keyframe requests each camera honoured (its stop line)."""
    ready_ns: int
    """When the restarted decoder first answered ``/healthz`` with ok."""
    restarted: list[dict]
    """The restarted decoder's first timing records."""
    restart_samples: Samples
    """The restarted decoder's /metrics then."""

    def summary(self) -> str:
        """The figures of a run, in one line (``pytest -s`` shows it; docs/video.md, Loss)."""
        sent, drops = sum(self.sent.values()), [r for r in self.wire if r["dropped"]]
        lost = sent - len(self.decoded)
        first = self.restarted[0]
        received = (first["capture_ns"] + first["network"] * 1e9 - self.ready_ns) / 1e9
        resumed = (first["capture_ns"] + first["end_to_end"] * 1e9 - self.ready_ns) / 1e9
        skipped = {side: stream_drops(self.restart_samples, side) for side in SIDES}
        requests = {side: requests_sent(self.samples, side) for side in SIDES}
        return (
            f"sent={sent} dropped={len(drops)} ({len(drops) / len(self.wire):.1%}, "
            f"{sum(r['keyframe'] for r in drops)} keyframes) decoded={len(self.decoded)} "
            f"({len(self.decoded) / sent:.1%}) lost_per_drop={lost / max(1, len(drops)):.2f} "
            f"keyframes={sum(r['keyframe'] for r in self.wire)} requests={requests} "
            f"honoured={self.honoured} prompt_keyframes={prompt_keyframes(self.wire)} "
            f"restart: first frame received {received:.2f} s and out {resumed:.2f} s after ready, "
            f"skipped {skipped}"
        )


def decoder_config(d: Path, ports: tuple[int, int, int], timing: str) -> Path:
    """A CPU decoder in sequence pairing (the synthetic rig is triggered: one seq, one instant)
    with a timing sink; a view whose partner was lost waits ``max_age_ms`` and goes alone.
    ``ports``: frames, HTTP, keyframe requests (at most one a stream every 0.5 s)."""
    frames_port, http_port, requests_port = ports
    path = d / f"{timing}.toml"
    text = cpu_decoder_toml(
        frames_port,
        http_port,
        pairing=f'mode = "sequence"\nmax_age_ms = {MAX_AGE_S * 1000}\nqueue_size = 256',
        head="drain_timeout_s = 30.0",
    )
    path.write_text(
        text + f'[keyframe_requests]\nbind = "tcp://127.0.0.1:{requests_port}"\n'
        f"interval_s = {REQUEST_INTERVAL_S}\n"
        "[batching]\nmax_batch = 4\nmax_wait_ms = 20.0\nbacklog = 4000\n"
        f'[[sinks]]\ntype = "timing"\npath = "{(d / f"{timing}.jsonl").as_posix()}"\n'
    )
    return path


def camera_config(
    d: Path, name: str, side: str, endpoints: tuple[str, str], frames: int, port: int
) -> Path:
    """One camera of the rig: H.264 at 10 fps, a keyframe a second (``[video]``), sending to
    ``endpoints[0]`` and taking keyframe requests from ``endpoints[1]``."""
    endpoint, requests = endpoints
    path = d / f"{name}.toml"
    path.write_text(
        camera_toml(
            RIG,
            side,
            endpoint,
            codec="h264",
            fps=FPS,
            frames=frames,
            send_queue=64,
            flush_s=10.0,
            metrics_port=port,
            metrics_addr="127.0.0.1",
            keyframe_requests_endpoint=requests,
            video={"keyframe_interval_s": KEYFRAME_INTERVAL_S},
        )
    )
    return path


def timing_records(path: Path) -> list[dict]:
    """The whole lines of a timing sink's file for :data:`RIG`."""
    return [r for r in read_records(path) if r["rig"] == RIG]


def stream_drops(samples: Samples, side: str) -> float:
    """Frames of ``side`` dropped for their stream: a gap, or waiting for a keyframe."""
    return sum(total(samples, DROPPED, rig=RIG, side=side, reason=x) for x in STREAM_DROPS)


def requests_sent(samples: Samples, side: str) -> float:
    """Keyframe requests the decoder sent to ``side``'s camera, for every reason."""
    return total(samples, REQUESTS, rig=RIG, side=side)


def loss_events(wire: list[dict]) -> list[tuple[list[dict], int]]:
    """Each run of dropped messages of a stream that a later message shows as a gap: (the
    stream's records in order, the index of the message after the run)."""
    streams: dict[tuple[str, int], list[dict]] = {}
    for r in wire:
        streams.setdefault((r["side"], r["stream"]), []).append(r)
    found = []
    for records in streams.values():
        for i in range(1, len(records)):
            if records[i - 1]["dropped"] and not records[i]["dropped"]:
                found.append((records, i))
    return found


def prompt_keyframes(wire: list[dict]) -> tuple[int, int]:
    """(prompt, asked): of the losses whose gap the decoder asked a keyframe for (the gap's
    message no keyframe, and not within ``interval_s`` of the stream's last such gap, when the
    rate limit holds the request back), those whose stream sent a keyframe within 2 messages
    after the gap's (the next frame, or one frame late)."""
    prompt = asked = 0
    last: dict[tuple[str, int], int] = {}
    for records, i in loss_events(wire):
        gap = records[i]
        key = (gap["side"], gap["stream"])
        if gap["keyframe"] or gap["packet"] - last.get(key, -GOP) < REQUEST_INTERVAL_S * FPS:
            continue
        last[key], asked = gap["packet"], asked + 1
        after = records[i + 1 : i + 3]
        prompt += any(r["keyframe"] and r["packet"] <= gap["packet"] + 2 for r in after)
    return prompt, asked


def counts_balance(port: int, forwarded: dict[str, int]) -> bool:
    """Every frame forwarded has arrived and is decoded or dropped, per side."""
    samples = scrape(port)
    for side in SIDES:
        received = total(samples, RECEIVED, rig=RIG, side=side)
        done = sum(total(samples, name, rig=RIG, side=side) for name in (DECODED, DROPPED))
        if received != forwarded[side] or done != received:
            return False
    return True


@pytest.fixture(scope="module")
def outcome(tmp_path_factory) -> Outcome:
    d = tmp_path_factory.mktemp("video_loss")
    ports = pick_ports()
    spare = (p for p in iter(free_port, None) if p not in astuple(ports))
    wire_port = next(spare)
    requests_port = next(p for p in spare if p != wire_port)
    http = ports.decoder_http
    metrics = {"left": ports.left_metrics, "right": ports.right_metrics}
    injector_bind = f"tcp://127.0.0.1:{wire_port}"
    endpoints = (injector_bind, f"tcp://127.0.0.1:{requests_port}")
    first = decoder_config(d, (ports.frames, http, requests_port), "timing-1")
    second = decoder_config(d, (ports.frames, http, requests_port), "timing-2")
    children: list[Child] = []

    def start(name: str, args: list[str]) -> Child:
        child = spawn(name, args, d / "logs", ENV)
        children.append(child)
        return child

    def cameras(tag: str, frames: int) -> dict[str, Child]:
        started = {}
        for side in SIDES:
            name = f"camera-{side}-{tag}"
            config = camera_config(d, name, side, endpoints, frames, metrics[side])
            started[side] = start(name, ["camera", "--config", str(config)])
        return started

    def ready(port: int) -> bool:
        return (health(port) or {}).get("status") == "ok"

    try:
        decoder = start("decoder", ["decoder", "--config", str(first)])
        wait_for(lambda: ready(http), 180, "the decoder", children)
        injector = start_injector(d, injector_bind, f"tcp://127.0.0.1:{ports.frames}", DROP, SEED)
        children.append(injector)
        # 60 s of loss: the cameras send FRAMES each and stop
        lossy = cameras("lossy", FRAMES)
        wait_for(
            lambda: all(c.poll() is not None for c in lossy.values()), 240, "the cameras", [decoder]
        )
        counts = {side: camera_counts(c) or {} for side, c in lossy.items()}
        sent = {side: found.get("sent", -1) for side, found in counts.items()}
        honoured = {s: found.get("keyframe_requests_honoured", -1) for s, found in counts.items()}
        wire_path = d / "wire.jsonl"
        arrived = lambda: len(read_records(wire_path)) >= sum(sent.values())  # noqa: E731
        wait_for(arrived, 30, "the injector to see every frame sent", [decoder])
        wire = read_records(wire_path)
        forwarded = {s: sum(1 for r in wire if r["side"] == s and not r["dropped"]) for s in SIDES}
        wait_for(lambda: counts_balance(http, forwarded), 180, "the decoder to settle", [decoder])
        samples = scrape(http)
        decoded = timing_records(d / "timing-1.jsonl")

        # The restart: drops off, two new cameras streaming into the decoder, which is
        # SIGKILLed once their frames arrive and started again on the same endpoint
        injector.proc.send_signal(signal.SIGUSR1)
        live = cameras("live", 0)  # they run until stopped
        before = total(scrape(http), RECEIVED)
        wait_for(
            lambda: total(scrape(http), RECEIVED) >= before + 20, 120, "live frames", [decoder]
        )
        stop(decoder, 10.0, signal.SIGKILL)
        decoder = start("decoder-2", ["decoder", "--config", str(second)])
        wait_for(lambda: ready(http), 180, "the restarted decoder", [decoder])
        ready_ns = time.time_ns()
        by_side = lambda: {r["side"] for r in timing_records(d / "timing-2.jsonl")}  # noqa: E731
        wait_for(lambda: by_side() == set(SIDES), 120, "decoding after the restart", [decoder])
        restarted = timing_records(d / "timing-2.jsonl")
        restart_samples = scrape(http)
        for child in live.values():  # flushed while a decoder takes their frames
            stop(child, 20.0)
        stop(decoder, 10.0, signal.SIGKILL)  # nothing after this is checked: no drain
    finally:
        for child in children:
            stop(child, 10.0)
    found = Outcome(wire, decoded, samples, sent, honoured, ready_ns, restarted, restart_samples)
    print(f"video loss: {found.summary()}")
    return found


def decodable(wire: list[dict]) -> set[tuple[str, int]]:
    """(side, seq) of the frames forwarded whose reference chain is whole: since its stream's
    last keyframe that was forwarded, no packet of the stream was dropped or went missing (a
    packet counter that skips: the camera dropped it). A stream starts broken until its first
    keyframe (a decoder joining mid-stream)."""
    whole: dict[tuple[str, int], bool] = {}
    last: dict[tuple[str, int], int] = {}
    out = set()
    for r in wire:
        key = (r["side"], r["stream"])
        follows = last.get(key, r["packet"] - 1) == r["packet"] - 1
        last[key] = r["packet"]
        if r["dropped"] or not (follows or r["keyframe"]):
            whole[key] = False
        elif r["keyframe"]:
            whole[key] = True
        if whole.get(key, False) and not r["dropped"]:
            out.add((r["side"], r["seq"]))
    return out


def test_every_frame_received_is_decoded_or_dropped_with_a_reason(outcome: Outcome):
    whole = decodable(outcome.wire)
    for side in SIDES:
        received = total(outcome.samples, RECEIVED, rig=RIG, side=side)
        decoded = total(outcome.samples, DECODED, rig=RIG, side=side)
        dropped = total(outcome.samples, DROPPED, rig=RIG, side=side)
        forwarded = sum(1 for r in outcome.wire if r["side"] == side and not r["dropped"])
        assert received == forwarded == decoded + dropped, (side, received, decoded, dropped)
        # each frame of a broken chain is dropped for the stream, and nothing else is dropped
        broken = forwarded - sum(1 for s, _ in whole if s == side)
        lost = stream_drops(outcome.samples, side)
        assert broken > 0 and lost == dropped == broken, (side, broken, lost, dropped)


def test_every_frame_from_the_next_keyframe_on_after_a_drop_is_decoded(outcome: Outcome):
    dropped = [r for r in outcome.wire if r["dropped"]]
    assert 0.03 <= len(dropped) / len(outcome.wire) <= 0.07  # the fault did happen
    expected = decodable(outcome.wire)
    decoded = {(r["side"], r["seq"]) for r in outcome.decoded}
    assert sorted(expected - decoded) == []  # nothing decodable was lost
    assert sorted(decoded - expected) == []  # nothing undecodable came out


def test_at_least_three_quarters_of_the_frames_sent_are_decoded(outcome: Outcome):
    assert outcome.sent == {side: FRAMES for side in SIDES}  # the cameras lost none
    assert len(outcome.decoded) >= 0.75 * sum(outcome.sent.values())


def test_keyframe_requests_cut_a_drop_to_about_two_frames(outcome: Outcome):
    # With periodic keyframes alone a drop costs 4.8 frames on average (4.33 on seed 0, 80.5%
    # decoded; 13 of 40 seeds under 75%); a request makes the frame after the one that shows
    # the gap a keyframe: 2 frames a drop, about 90% decoded (docs/video.md, Loss on the wire)
    drops = [r for r in outcome.wire if r["dropped"]]
    lost = sum(outcome.sent.values()) - len(outcome.decoded)
    assert lost / len(drops) <= 3.0
    assert len(outcome.decoded) >= 0.85 * sum(outcome.sent.values())
    prompt, asked = prompt_keyframes(outcome.wire)  # periodic keyframes alone: 1 in 5
    assert asked >= 10 and prompt >= 0.9 * asked, (prompt, asked)
    for side in SIDES:  # every request reached its camera, for the stream it was coding
        sent = requests_sent(outcome.samples, side)
        assert 0 < outcome.honoured[side] <= sent <= outcome.honoured[side] + 2, (side, sent)


def test_a_restarted_decoder_resumes_within_one_keyframe_interval(outcome: Outcome):
    # The injector held the frames of the decoder's downtime (its sockets and the loopback
    # TCP buffers, as a camera's socket holds its last few), so the restarted decoder starts
    # mid-stream with them: it must join at the first keyframe among them and decode at once.
    deadline = outcome.ready_ns + (KEYFRAME_INTERVAL_S + RESTART_SLACK_S) * 1e9
    for side in SIDES:
        first = next(r for r in outcome.restarted if r["side"] == side)
        received_ns = first["capture_ns"] + first["network"] * 1e9  # less its encode (ms)
        output_ns = first["capture_ns"] + first["end_to_end"] * 1e9
        assert first["capture_ns"] <= deadline, (side, first)
        assert received_ns <= deadline, (side, (received_ns - outcome.ready_ns) / 1e9)
        assert output_ns <= deadline + MAX_AGE_S * 1e9, (side, (output_ns - outcome.ready_ns) / 1e9)
        skipped = stream_drops(outcome.restart_samples, side)
        assert skipped <= GOP - 1, (side, skipped)  # no more than up to the next keyframe
