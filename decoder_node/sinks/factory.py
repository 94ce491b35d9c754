"""Build a sink from its configuration (a union keyed on ``type``)."""

from __future__ import annotations

from collections.abc import Callable

import zmq

from decoder_node.config import (
    NullSinkConfig,
    PngSinkConfig,
    SinkConfig,
    TimingSinkConfig,
    ZmqSinkConfig,
)
from decoder_node.frames import DecodedItem
from decoder_node.sinks.base import Sink
from decoder_node.sinks.png import PngSink
from decoder_node.sinks.timing import TimingSink
from decoder_node.sinks.zmq_pub import ZmqPubSink


class NullSink(Sink):
    """Discard everything."""

    name = "none"

    def write(self, decoded: DecodedItem) -> None:
        """Do nothing."""


def build_sink(
    cfg: SinkConfig,
    context: zmq.Context | None = None,
    secure: Callable[[zmq.Socket], None] | None = None,
) -> Sink:
    """The sink for one ``[[sinks]]`` table; ``secure`` CURVE-secures a socket it binds."""
    if isinstance(cfg, PngSinkConfig):
        return PngSink(cfg)
    if isinstance(cfg, ZmqSinkConfig):
        return ZmqPubSink(cfg, context, secure)
    if isinstance(cfg, TimingSinkConfig):
        return TimingSink(cfg)
    if isinstance(cfg, NullSinkConfig):
        return NullSink()
    raise TypeError(f"no sink for {type(cfg).__name__}")
