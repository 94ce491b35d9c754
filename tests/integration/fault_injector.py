"""A lossy wire between camera nodes and a decoder, as a process of its own.

``python -m tests.integration.fault_injector --bind IN --connect OUT --drop P --seed S
--record FILE``: binds a PULL socket on ``IN`` for the cameras, connects a PUSH socket to the
decoder's ``OUT``, and forwards each message's parts unchanged, except that it drops a message
with probability ``P``. The draws come from one seeded RNG per rig and side (:class:`DropRule`),
taken in the order that side's messages arrive, so a run drops the same packets of each stream
whatever the interleaving of the two cameras. Every message is recorded as one JSON line in
``FILE`` (flushed at once, so the file is whole even if the process is killed): ``rig``,
``side``, ``seq``, ``stream`` (id), ``packet``, ``keyframe`` (None for a version 1 message) and
``dropped``; one the wire parser refuses is forwarded and recorded with its ``error``.

SIGUSR1 ends the fault: from then on every message is forwarded (a ``{"event": "drops_off"}``
line marks the moment). SIGTERM or SIGINT stop it; it prints
``fault injector stopped: received=N forwarded=N dropped=N`` as it exits. It sits outside
CURVE (it reads the headers), so it runs between processes without keys.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import IO, Any

import zmq

from pipeline.wire import ProtocolError, decode_frame
from stereo_app.demo.processes import Child

POLL_MS = 100
"""How often the loops look at the stop flag."""
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class WireRecord:
    """What the injector saw of one message."""

    rig: str | None
    side: str | None
    seq: int | None
    stream: int | None
    packet: int | None
    keyframe: bool | None
    dropped: bool = False
    error: str | None = None

    @classmethod
    def of(cls, parts: list[bytes]) -> WireRecord:
        """The record of a message's ``parts`` (a refused header gives its error)."""
        try:
            header, _ = decode_frame(parts)
        except ProtocolError as e:
            return cls(None, None, None, None, None, None, error=str(e))
        stream = header.stream
        return cls(
            header.rig_id,
            header.side,
            header.seq,
            stream.id if stream else None,
            stream.packet if stream else None,
            stream.keyframe if stream else None,
        )


class DropRule:
    """Drop with probability ``p``, from one RNG per (rig, side) seeded with ``seed``."""

    def __init__(self, p: float, seed: int) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"--drop must be in [0, 1]: {p}")
        self.p = p
        self.seed = seed
        self._rngs: dict[tuple[str | None, str | None], random.Random] = {}

    def drops(self, rig: str | None, side: str | None) -> bool:
        """Whether to drop the next message of ``rig``/``side`` (a draw even when ``p`` is 0,
        so turning the fault off does not shift later draws)."""
        key = (rig, side)
        if key not in self._rngs:
            self._rngs[key] = random.Random(f"{self.seed}/{rig}/{side}")
        return self._rngs[key].random() < self.p


class FaultInjector:
    """The forwarding loop between a bound PULL and a connected PUSH socket."""

    def __init__(self, bind: str, connect: str, rule: DropRule, record: IO[str], hwm: int):
        self.rule = rule
        self.record = record
        self.stopping = threading.Event()
        self.counts = {"received": 0, "forwarded": 0, "dropped": 0}
        self._context = zmq.Context()
        self._pull = self._context.socket(zmq.PULL)
        self._pull.set_hwm(hwm)
        self._pull.bind(bind)
        self._push = self._context.socket(zmq.PUSH)
        self._push.set_hwm(hwm)
        self._push.connect(connect)

    def drops_off(self) -> None:
        """End the fault: forward everything from now on."""
        self.rule.p = 0.0
        self._write({"event": "drops_off"})

    def run(self) -> None:
        """Forward until :attr:`stopping` is set."""
        while not self.stopping.is_set():
            if not self._pull.poll(POLL_MS):
                continue
            parts = self._pull.recv_multipart()
            seen = WireRecord.of(parts)
            dropped = self.rule.drops(seen.rig, seen.side)
            self.counts["received"] += 1
            if dropped or self._forward(parts):
                self.counts["dropped" if dropped else "forwarded"] += 1
                self._write(asdict(replace(seen, dropped=dropped)))

    def _forward(self, parts: list[bytes]) -> bool:
        """Send ``parts`` as they came, waiting while the decoder is away; False if stopped
        first (the message is then neither forwarded nor dropped: not recorded)."""
        while not self.stopping.is_set():
            if self._push.poll(POLL_MS, zmq.POLLOUT):
                self._push.send_multipart(parts)
                return True
        return False

    def _write(self, line: dict[str, Any]) -> None:
        self.record.write(json.dumps(line) + "\n")
        self.record.flush()

    def close(self) -> None:
        """Close the sockets (queued messages get one second to leave)."""
        self._pull.close(linger=0)
        self._push.close(linger=1000)
        self._context.term()


def read_records(path: Path) -> list[dict[str, Any]]:
    """The whole lines of an injector's record file, in the order written."""
    text = path.read_text() if path.exists() else ""
    complete = text[: text.rfind("\n") + 1]  # a line being written is left out
    return [json.loads(line) for line in complete.splitlines() if line.strip()]


def start_injector(folder: Path, bind: str, connect: str, drop: float, seed: int) -> Child:
    """Run the injector as a process: records in ``folder/wire.jsonl``, output in
    ``folder/logs/injector.log``."""
    (folder / "logs").mkdir(parents=True, exist_ok=True)
    log = (folder / "logs" / "injector.log").open("wb")
    cmd = [sys.executable, "-m", "tests.integration.fault_injector"]
    cmd += ["--bind", bind, "--connect", connect, "--drop", str(drop), "--seed", str(seed)]
    cmd += ["--record", str(folder / "wire.jsonl")]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    return Child("injector", proc, log)


def main(argv: list[str] | None = None) -> int:
    """Run the injector until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bind", required=True, help="endpoint the cameras connect to")
    parser.add_argument("--connect", required=True, help="the decoder's endpoint")
    parser.add_argument("--drop", type=float, required=True, help="drop probability")
    parser.add_argument("--seed", type=int, default=0, help="RNG seed")
    parser.add_argument("--record", type=Path, required=True, help="JSON Lines record file")
    parser.add_argument("--hwm", type=int, default=16, help="each socket's high-water mark")
    args = parser.parse_args(argv)
    with args.record.open("w", encoding="utf-8") as record:
        rule = DropRule(args.drop, args.seed)
        injector = FaultInjector(args.bind, args.connect, rule, record, args.hwm)
        signal.signal(signal.SIGTERM, lambda *_: injector.stopping.set())
        signal.signal(signal.SIGINT, lambda *_: injector.stopping.set())
        signal.signal(signal.SIGUSR1, lambda *_: injector.drops_off())
        print(f"fault injector ready: {args.bind} -> {args.connect} drop={args.drop}", flush=True)
        try:
            injector.run()
        finally:
            injector.close()
    counts = " ".join(f"{k}={v}" for k, v in injector.counts.items())
    print(f"fault injector stopped: {counts}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
