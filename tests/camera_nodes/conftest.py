"""Fixtures of the camera node tests."""

from __future__ import annotations

import pytest
import zmq


@pytest.fixture
def pull():
    """A PULL socket bound on a free loopback port, standing in for the decoder: (socket,
    endpoint)."""
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PULL)
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    yield sock, f"tcp://127.0.0.1:{port}"
    sock.close(linger=0)
    ctx.term()
