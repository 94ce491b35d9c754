"""Shared helpers for the decoder daemon's unit tests: frames, bitstreams, a counting decoder."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from decoder_node.frames import ReceivedFrame
from decoder_node.metrics import FrameDrops
from pipeline.codec import DecodedBatch, DecodedPair, DecodeRequest, Role
from pipeline.codec.api import StageSeconds
from pipeline.codec.bitstream.container import (
    FORMAT_VERSION,
    Bitstream,
    BitstreamHeader,
    read_header,
)
from pipeline.codec.bitstream.errors import CorruptBitstreamError
from pipeline.wire import PROTOCOL_VERSION, FrameHeader

BAD_MARK = b"BAD!"


def bitstream(side: str, height: int = 16, width: int = 24, bad: bool = False) -> bytes:
    """A container whose header reads back; ``bad`` marks it for :class:`FakeDecoder` to reject."""
    header = BitstreamHeader(
        FORMAT_VERSION, "dsin-s1", "00" * 8, 4,
        Role.PRIMARY if side == "left" else Role.SIDE, height, width, 3,
    )  # fmt: skip
    return Bitstream(header, (BAD_MARK if bad else b"z", b"y")).to_bytes()


def frame(
    side: str,
    seq: int,
    capture_ms: float | None = None,
    recv_mono: float = 0.0,
    rig: str = "rig0",
    shape: tuple[int, int] = (16, 24),
    bad: bool = False,
) -> ReceivedFrame:
    """A received frame; capture time defaults to ``seq`` * 100 ms."""
    capture_ns = int((seq * 100.0 if capture_ms is None else capture_ms) * 1e6) + 10**18
    header = FrameHeader(
        PROTOCOL_VERSION, rig, side, seq, capture_ns, capture_ns + 1000, "dsin-s1", 4,
        shape[0], shape[1], 3,
    )  # fmt: skip
    payload = bitstream(side, *shape, bad=bad)
    return ReceivedFrame(header, payload, capture_ns + 2000, recv_mono)


class FakeDecoder:
    """Stands in for StereoDecoder: grey images of the announced size; BAD_MARK payloads raise.

    Images encode which request they answer: every pixel of ``left`` is 200 when decoded with
    side information, 100 alone; ``right`` is 50. ``calls`` records each method call's size.
    ``before_reconstruct`` runs first in every ``reconstruct`` call (to raise, wait, or count).
    """

    def __init__(
        self, before_reconstruct: Callable[[list[DecodeRequest]], None] | None = None
    ) -> None:
        self.calls: list[tuple[str, int]] = []
        self._before_reconstruct = before_reconstruct

    def entropy_decode(self, requests: list[DecodeRequest]) -> list[DecodeRequest]:
        self.calls.append(("entropy_decode", len(requests)))
        for request in requests:
            for data in (request.primary, request.side):
                if data is not None and BAD_MARK in data:
                    raise CorruptBitstreamError("marked bad")
        return list(requests)

    def reconstruct(self, requests: list[DecodeRequest]) -> DecodedBatch:
        if self._before_reconstruct is not None:
            self._before_reconstruct(requests)
        self.calls.append(("reconstruct", len(requests)))
        pairs = [self._pair(r) for r in requests]
        return DecodedBatch(pairs, StageSeconds(0.001, 0.002, 0.003, 0.004))

    def decode_batch(self, requests: list[DecodeRequest]) -> DecodedBatch:
        self.calls.append(("decode_batch", len(requests)))
        return self.reconstruct(self.entropy_decode(requests))

    def forget(self, stream: str) -> None:
        self.calls.append(("forget", stream))

    @staticmethod
    def _pair(request: DecodeRequest) -> DecodedPair:
        def image(data: bytes | None, value: int) -> np.ndarray | None:
            if data is None:
                return None
            h = read_header(data)
            return np.full((h.height, h.width, 3), value, np.uint8)

        alone = image(request.primary, 100)
        left = image(request.primary, 200 if request.side is not None else 100)
        return DecodedPair(left, alone, image(request.side, 50))


def holding(entered: threading.Event, release: threading.Event, timeout: float):
    """A ``before_reconstruct`` hook: set ``entered``, then wait (``timeout`` s at most) for
    ``release``, so that a test can act while a batch is in the model."""

    def hold(requests: list[DecodeRequest]) -> None:
        entered.set()
        release.wait(timeout)

    return hold


@pytest.fixture
def registry() -> CollectorRegistry:
    """A fresh registry per test."""
    return CollectorRegistry()


@pytest.fixture
def drops(registry: CollectorRegistry) -> FrameDrops:
    """The shared drop counter in the test's registry, with a slot for rig ``rig0`` (the
    receiver gives one to each rig's first frame; a count of a rig without one is not kept)."""
    drops = FrameDrops(registry)
    drops.rigs.add("rig0")
    return drops


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    """A metric sample's value, 0 when it has not been created."""
    return registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
def make_frame():
    """The :func:`frame` factory."""
    return frame


@pytest.fixture
def make_bitstream():
    """The :func:`bitstream` factory."""
    return bitstream


@pytest.fixture
def metric(registry: CollectorRegistry):
    """``metric(name, **labels)``: a sample of the test's registry (0 when absent)."""
    return lambda name, **labels: sample(registry, name, **labels)


@pytest.fixture
def fake_decoder_cls() -> type[FakeDecoder]:
    """The :class:`FakeDecoder` class (tests may subclass it or give it a hook)."""
    return FakeDecoder
