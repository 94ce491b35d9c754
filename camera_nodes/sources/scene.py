"""The built-in stereo scene (:mod:`pipeline.scene`) as a frame source, ``type = "synthetic"``."""

from __future__ import annotations

from camera_nodes.config import SyntheticSourceConfig
from camera_nodes.sources.base import Frame, FrameSource, SourceError
from pipeline.scene import render_view


class SyntheticSource(FrameSource):
    """Renders frame 0, 1, 2, ... of the scene for one view; seq is the frame index.

    ``read`` computes the frame on the calling thread (no blocking I/O) and never ends.
    """

    def __init__(self, config: SyntheticSourceConfig, side: str) -> None:
        self.config, self.side = config, side
        self._next = 0
        self._connected = False

    def connect(self) -> None:
        self._connected = True

    def read(self) -> Frame:
        if not self._connected:
            raise SourceError("synthetic source read before connect()")
        cfg, seq = self.config, self._next
        self._next += 1
        return Frame(seq, render_view(seq, cfg.width, cfg.height, cfg.seed, self.side))

    def disconnect(self) -> None:
        self._connected = False
