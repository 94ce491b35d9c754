"""Stopping closes the receive socket before the drain: what cameras send meanwhile waits in
them for the next decoder instead of being discarded with the old one's queue."""

from __future__ import annotations

import threading

import pytest
import zmq
from prometheus_client import CollectorRegistry

from decoder_node.app import DecoderApp
from decoder_node.config import (
    BatchingConfig,
    DecoderConfig,
    HttpConfig,
    PairingConfig,
    ReceiverConfig,
)
from pipeline.wire import decode_frame, encode_frame
from tests.decoder_node.conftest import holding
from tests.decoder_node.test_app import wait_for

pytestmark = pytest.mark.timeout(60)


def test_frames_sent_during_the_drain_reach_the_next_decoder(make_frame, fake_decoder_cls):
    busy, release = threading.Event(), threading.Event()

    slow = fake_decoder_cls(before_reconstruct=holding(busy, release, 20.0))
    cfg = DecoderConfig(
        receiver=ReceiverConfig(bind="tcp://127.0.0.1:*", poll_ms=5.0),
        pairing=PairingConfig(mode="sequence"),
        batching=BatchingConfig(max_batch=1, max_wait_ms=0.0),
        http=HttpConfig(enabled=False),
    )
    app, stop, codes = DecoderApp(cfg, CollectorRegistry(), slow), threading.Event(), []
    runner = threading.Thread(target=lambda: codes.append(app.run(stop, 0.05)))
    runner.start()
    ctx = zmq.Context()
    push, pull = ctx.socket(zmq.PUSH), ctx.socket(zmq.PULL)
    try:
        assert wait_for(lambda: app.state == "ok")
        endpoint = app.endpoint
        push.connect(endpoint)
        for side in ("left", "right"):
            push.send_multipart(
                encode_frame(make_frame(side, 1).header, make_frame(side, 1).payload)
            )
        assert busy.wait(10)  # the pair is in the model: the drain will wait for it
        stop.set()
        assert wait_for(lambda: app.state == "draining")
        assert wait_for(lambda: _binds(pull, endpoint))  # the old socket is closed already
        frame = make_frame("left", 2)
        push.send_multipart(encode_frame(frame.header, frame.payload))
        assert pull.poll(10_000)
        header, _ = decode_frame(pull.recv_multipart())
        assert (header.seq, app.state) == (2, "draining")
    finally:
        release.set()
        runner.join(30)
        push.close(linger=0)
        pull.close(linger=0)
        ctx.term()
    assert codes == [0]


def _binds(sock: zmq.Socket, endpoint: str) -> bool:
    try:
        sock.bind(endpoint)
    except zmq.ZMQError:
        return False
    return True
