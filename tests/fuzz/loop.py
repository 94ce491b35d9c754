"""The long fuzzing loop of one target in this process: hypothesis generates inputs in
seeded chunks until the input count or the time budget is spent; an input that breaks the
contract is recorded (grouped by exception type and the product-code line it came from) and
the loop goes on, as a coverage fuzzer does, instead of stopping to shrink the first one."""

from __future__ import annotations

import resource
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings

from tests.fuzz.target import MIB, Target

#: Inputs per hypothesis run; each run has its own seed, so the whole loop is reproducible.
CHUNK = 500
#: Seconds between two progress lines on stderr.
REPORT_EVERY = 60.0
PRODUCT_DIRS = ("pipeline", "camera_nodes", "decoder_node", "stereo_app")
REPO = Path(__file__).resolve().parents[2]


class Hang(BaseException):
    """An input ran past the target's timeout (a BaseException: no ``except Exception`` in
    the code under test may swallow it)."""


@dataclass
class Failure:
    """Inputs that broke the contract in the same way: the first traceback, the shortest
    input (its repr)."""

    count: int
    traceback: str
    example: str


@dataclass
class Progress:
    """Counts of one run and its stopping rule."""

    inputs: int
    seconds: float
    started: float = field(default_factory=time.monotonic)
    done_inputs: int = 0
    hung: bool = False
    failures: dict[str, Failure] = field(default_factory=dict)
    reported: float = field(default_factory=time.monotonic)

    def finished(self) -> bool:
        """True once the input count or the time budget is spent, or an input hung."""
        spent = time.monotonic() - self.started >= self.seconds
        return self.hung or self.done_inputs >= self.inputs or spent

    def tick(self, name: str) -> None:
        """Count one input; every :data:`REPORT_EVERY` seconds, say how far the run is."""
        self.done_inputs += 1
        now = time.monotonic()
        if now - self.reported >= REPORT_EVERY:
            self.reported = now
            print(
                f"{name}: {self.done_inputs} inputs, {len(self.failures)} kinds of failure, "
                f"{now - self.started:.0f} s",
                file=sys.stderr,
                flush=True,
            )

    def record(self, error: BaseException, example: Any) -> None:
        """Count one contract violation under its signature."""
        key = signature(error)
        text = repr(example)
        if len(text) > 4000:
            text = text[:4000] + f"... ({len(text)} chars)"
        old = self.failures.get(key)
        if old is None:
            trace = "".join(traceback.format_exception(error))[-6000:]
            self.failures[key] = Failure(1, trace, text)
        else:
            old.count += 1
            if len(text) < len(old.example):
                old.example = text


def signature(error: BaseException) -> str:
    """``Type at file:line`` of the innermost product-code frame (else the innermost)."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if _is_product(f.filename)]
    frame = (ours or frames or [None])[-1]
    where = "?" if frame is None else f"{_relative(frame.filename)}:{frame.lineno}"
    return f"{type(error).__name__} at {where}"


def _is_product(filename: str) -> bool:
    return any(Path(filename).resolve().is_relative_to(REPO / d) for d in PRODUCT_DIRS)


def _relative(filename: str) -> str:
    path = Path(filename).resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else path.name


def _on_alarm(signum: int, frame: Any) -> None:
    raise Hang("input ran past the target's timeout")


def vm_size() -> int:
    """Bytes of address space this process has mapped now (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    raise OSError("no VmSize in /proc/self/status")


def peak_rss_mib() -> float:
    """This process' peak resident memory so far, in MiB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cap_memory(headroom_mib: int) -> int:
    """Limit the address space to what is mapped now plus ``headroom_mib``; returns the cap.

    Importing torch alone maps about 4 GiB of address space (1 GiB resident) here, so an
    absolute cap would measure the libraries; this one bounds what the parser adds."""
    cap = vm_size() + headroom_mib * MIB
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    return cap


def fuzz(target: Target, progress: Progress, base_seed: int) -> None:
    """Run ``target`` until ``progress`` says to stop, in seeded chunks of :data:`CHUNK`."""
    strategy = target.inputs()
    signal.signal(signal.SIGALRM, _on_alarm)

    def body(example: Any) -> None:
        if progress.finished():
            return
        progress.tick(target.name)
        try:
            signal.setitimer(signal.ITIMER_REAL, target.timeout_s)
            target.check(example)
        except Hang as e:
            progress.hung = True
            progress.record(e, example)
        except Exception as e:
            progress.record(e, example)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    chunk = 0
    while not progress.finished():
        run = settings(
            max_examples=CHUNK,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )(given(strategy)(body))
        seed(base_seed + chunk)(run)()
        chunk += 1
