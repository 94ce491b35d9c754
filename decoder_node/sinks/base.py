"""The sink interface: where decoded frames go after the decoder."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

from decoder_node.frames import DecodedItem

if TYPE_CHECKING:
    from decoder_node.sinks.set import SinkMetrics


class Sink(ABC):
    """One output of the daemon. ``write`` is called from the decode worker thread only.

    ``write`` may raise ``OSError`` (or a ZeroMQ error); the caller counts it and carries on
    with the next item, so a failing sink never stops decoding.
    """

    name: str = "sink"
    wants_output_time = False
    """True for sinks that record timings: they run after the others, once output is done."""

    def attach_metrics(self, metrics: SinkMetrics) -> None:  # noqa: B027 - optional hook
        """Take the daemon's sink metrics (:meth:`SinkSet.open` calls it just before ``open``)."""

    def open(self) -> None:  # noqa: B027 - optional hook
        """Acquire resources (bind sockets, create folders). Called once before any write."""

    @abstractmethod
    def write(self, decoded: DecodedItem) -> None:
        """Output one decoded item."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Flush and release resources; the sink is not used again."""
