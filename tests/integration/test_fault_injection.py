"""Faults that only a broken model or a full GPU produce, injected into a real decoder process.

The daemon runs in its own process with the real codec; this file's script wraps the codec's
``reconstruct`` so that it runs out of device memory on every batch of more than one pair, or
kills its thread (an exception no loop catches) on the first batch. The test sends real frames
over ZeroMQ, stops the process with SIGTERM and reads the counts it logs as it stops: every
frame received is decoded or dropped with a reason.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stereo_app.demo.processes import health, scrape, total, wait_until
from stereo_app.demo.setup import pick_ports
from tests.integration.configs import cpu_decoder_toml
from tests.integration.test_faults import Sender

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

SCRIPT = """
import sys, threading, torch
from pipeline.codec.decode import decoder as codec
from decoder_node.cli import main

fault = sys.argv[1]
reconstruct = codec.StereoDecoder.reconstruct
state = {"died": False}

class Escaped(BaseException):
    pass

def faulty(self, decoded):
    if fault == "oom" and len(decoded.items) > 1:
        raise torch.cuda.OutOfMemoryError("CUDA out of memory (injected)")
    if fault == "thread" and not state["died"]:
        state["died"] = True
        raise Escaped("the model thread dies (injected)")
    return reconstruct(self, decoded)

codec.StereoDecoder.reconstruct = faulty
sys.exit(main(["--config", sys.argv[2]]))
"""


@pytest.mark.parametrize(("fault", "metric"), [
    ("oom", "stereo_decoder_batch_oom_splits_total"),
    ("thread", "stereo_decoder_thread_restarts_total"),
])  # fmt: skip
def test_every_frame_is_accounted_for_through_an_injected_fault(tmp_path: Path, fault, metric):
    ports = pick_ports()
    config = tmp_path / "decoder.toml"
    batching = "\n[batching]\nmax_batch = 8\nmax_wait_ms = 300.0\n"
    config.write_text(cpu_decoder_toml(ports.frames, ports.decoder_http,
                                       pairing='mode = "sequence"') + batching)  # fmt: skip
    log = (tmp_path / "decoder.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, fault, str(config)],
                            stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    sender = None
    try:
        port = ports.decoder_http
        assert wait_until(lambda: (health(port) or {}).get("status") == "ok", 180)
        sender = Sender(f"tcp://127.0.0.1:{ports.frames}")
        for seq in range(12):  # quickly: batches of several pairs
            now = time.time_ns()
            sender.send("f", "left", seq, now)
            sender.send("f", "right", seq, now)
        decoded = "stereo_decoder_frames_decoded_total"
        dropped = "stereo_decoder_frames_dropped_total"
        done = lambda: total(scrape(port), decoded) + total(scrape(port), dropped) >= 24  # noqa: E731
        assert wait_until(done, 120), scrape(port)
        assert total(scrape(port), metric) >= 1
    finally:
        if sender is not None:
            sender.close()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(60)
        log.close()
    assert code == 0
    text = (tmp_path / "decoder.log").read_text()
    line = re.findall(r"decoder stopped: (.*)$", text, re.M)[-1]
    counts = {k: int(v) for k, v in (kv.split("=") for kv in line.split())}
    lost = sum(v for k, v in counts.items() if k.startswith("dropped_"))
    assert counts["received"] == 24 and counts["decoded"] + lost == 24
    if fault == "oom":
        assert lost == 0  # halving the batches lost nothing
    else:
        assert counts["dropped_decode_error"] >= 2  # the batch the dead thread held
