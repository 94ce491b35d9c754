"""Capture backends behind one interface; :func:`make_source` picks one from the config.

:class:`PassthroughSource` is a :class:`PacketSource` (compressed packets, not frames): the
node sends its packets as they are instead of encoding frames.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from camera_nodes.config import (
    FolderSourceConfig,
    OpenCVSourceConfig,
    PassthroughSourceConfig,
    SourceConfig,
    SyntheticSourceConfig,
)
from camera_nodes.sources.base import EndOfStream, Frame, FrameSource, SourceError
from camera_nodes.sources.folder import FolderSource
from camera_nodes.sources.opencv import OpenCVSource
from camera_nodes.sources.packets import CapturedPacket, PacketSource
from camera_nodes.sources.passthrough import PassthroughSource
from camera_nodes.sources.scene import SyntheticSource

__all__ = [
    "CapturedPacket",
    "EndOfStream",
    "FolderSource",
    "Frame",
    "FrameSource",
    "OpenCVSource",
    "PacketSource",
    "PassthroughSource",
    "SourceError",
    "SyntheticSource",
    "make_source",
]


def make_source(
    config: SourceConfig, side: str, clock: Callable[[], int] = time.time_ns
) -> FrameSource | PacketSource:
    """The source for ``config`` (by its ``type``) serving view ``side``; not yet connected.
    ``clock``: the camera clock in nanoseconds, which a packet source maps its stream's
    timestamps to (a frame source's frames are stamped by the node when read)."""
    if isinstance(config, PassthroughSourceConfig):
        return PassthroughSource(config, clock)
    if isinstance(config, SyntheticSourceConfig):
        return SyntheticSource(config, side)
    if isinstance(config, FolderSourceConfig):
        return FolderSource(config, side)
    if isinstance(config, OpenCVSourceConfig):
        return OpenCVSource(config, side)
    raise TypeError(f"unknown source config {type(config).__name__}")
