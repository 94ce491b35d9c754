"""The abstract frame source every capture backend implements (after LeRobot's ``Camera``)."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import numpy as np


class SourceError(RuntimeError):
    """A source cannot be opened, or a read failed; the node counts it and carries on."""


class EndOfStream(Exception):  # noqa: N818 - an ordinary end, not an error
    """A finite source (a folder, a video file without ``loop``) has no more frames."""


@dataclass(frozen=True)
class Frame:
    """One captured view: ``seq`` is the frame index (the same on both views of a trigger)."""

    seq: int
    image: np.ndarray  # uint8 RGB (H, W, 3) or grey (H, W): a grey camera stays grey


class Connectable(abc.ABC):
    """The lifecycle every source shares: :meth:`connect`, reads, :meth:`disconnect`.

    Use as a context manager (``with make_source(cfg, side) as src: src.read()``) or call
    :meth:`connect` / :meth:`disconnect` yourself.
    """

    @abc.abstractmethod
    def connect(self) -> None:
        """Open the device or files. May block while a device starts (seconds for a camera or
        a network stream). Raises :class:`SourceError` if it cannot be opened."""

    @abc.abstractmethod
    def disconnect(self) -> None:
        """Release the device or files; safe to call twice. Never blocks for long."""

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.disconnect()


class FrameSource(Connectable):
    """A camera-like source of RGB or grey frames for one view of a stereo rig.

    Not thread-safe: one reader thread.
    """

    @abc.abstractmethod
    def read(self) -> Frame:
        """Return the next frame. Blocks until one is available (a live camera paces this;
        synthetic and folder sources return at once). Raises :class:`EndOfStream` when a
        finite source is exhausted and :class:`SourceError` when a read fails."""
