"""Record per-frame stage timings as JSON Lines (what ``stereo-pipeline demo`` reports from).

One line per decoded view: ``rig``, ``side``, ``seq``, ``capture_ns``, ``paired``,
``partner_seq`` and ``partner_capture_ns`` (None when decoded alone), ``bytes``, ``bpp`` and the
seconds of each stage (``network``: send to receive, on the two hosts' clocks; ``pairing``;
``queue``; ``entropy_decode``, ``synthesis``, ``si_finder``, ``si_net``: the whole batch's;
``stream_decode`` (video views only): the receive-stage decode of the item's views, summed;
``sink``; ``end_to_end``: capture to output, on the two hosts' clocks).
"""

from __future__ import annotations

import json
from typing import IO

from decoder_node.config import TimingSinkConfig
from decoder_node.frames import DecodedItem
from decoder_node.sinks.base import Sink


class TimingSink(Sink):
    """Append one JSON object per decoded view to a file, flushed on every item."""

    name = "timing"
    wants_output_time = True

    def __init__(self, cfg: TimingSinkConfig) -> None:
        self._path = cfg.path
        self._file: IO[str] | None = None

    def open(self) -> None:
        """Create (truncate) the file."""
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self._path.open("w", encoding="utf-8")

    def write(self, decoded: DecodedItem) -> None:
        """Write the records of the views present."""
        if self._file is None:
            raise RuntimeError("TimingSink.write before open")
        item = decoded.item
        paired = item.left is not None and item.right is not None
        for frame in item.frames:
            partner = (item.right if frame.side == "left" else item.left) if paired else None
            record = {
                "rig": item.rig,
                "side": frame.side,
                "seq": frame.seq,
                "capture_ns": frame.capture_ns,
                "paired": paired,
                "partner_seq": partner.seq if partner else None,
                "partner_capture_ns": partner.capture_ns if partner else None,
                "bytes": len(frame.payload),
                "bpp": frame.bits_per_pixel,
                "network": (frame.recv_ns - frame.header.send_ns) / 1e9,
                "pairing": item.ready_mono - frame.recv_mono,
                **decoded.timings,
                "end_to_end": (decoded.output_ns - frame.capture_ns) / 1e9,
            }
            self._file.write(json.dumps(record) + "\n")
        self._file.flush()

    def close(self) -> None:
        """Close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None
