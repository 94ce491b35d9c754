"""Sinks: PNG folder, ZeroMQ PUB republish, per-frame timing records, or none."""

from decoder_node.sinks.base import Sink
from decoder_node.sinks.factory import build_sink
from decoder_node.sinks.png import PngSink, write_png_atomic
from decoder_node.sinks.set import SinkSet
from decoder_node.sinks.timing import TimingSink
from decoder_node.sinks.zmq_pub import ZmqPubSink

__all__ = [
    "PngSink",
    "Sink",
    "SinkSet",
    "TimingSink",
    "ZmqPubSink",
    "build_sink",
    "write_png_atomic",
]
