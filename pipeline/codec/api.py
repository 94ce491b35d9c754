"""High-level codec interface used by the camera nodes, the decoder daemon, the CLI and eval.

Images are numpy ``uint8`` arrays, ``(H, W)`` for grey or ``(H, W, 3)`` RGB (not BGR: convert
at OpenCV boundaries). A bitstream is the ``bytes`` of one container (``docs/bitstream.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np


class Role(StrEnum):
    """Which view a bitstream codes: the side view decodes alone, the primary uses the side."""

    PRIMARY = "primary"
    SIDE = "side"


@dataclass(frozen=True)
class StreamPosition:
    """Where a pair sits in a stream of pairs (one rig's, decoded in order).

    ``stream``: the stream's name (the rig); ``epoch``: changes when the stream starts again
    (a camera's video stream id; 0 for image codecs); ``index``: grows from pair to pair (the
    seq; a pair at or below the last one seen is a restart). The SI-Finder searches a pair near
    the matches of its stream's previous pair (``docs/benchmarks.md``, warm start).
    """

    stream: str
    index: int
    epoch: int = 0


@dataclass(frozen=True)
class DecodeRequest:
    """One stereo pair to decode; either bitstream may be missing (not both).

    ``side_image`` is an uncompressed side view (uint8, grey or RGB) to use as side
    information instead of a side bitstream (for example a PNG on disk). ``primary_pixels`` and
    ``side_pixels``: a video view's image, decoded from its bitstream's packet at receive, in
    its stream (``docs/video.md``): a video view is never decoded again from its bitstream,
    whose container is still checked. ``position``: the pair's place in its stream, for the
    SI-Finder's warm start (None: a whole search).
    """

    primary: bytes | None
    side: bytes | None = None
    side_image: np.ndarray | None = None
    primary_pixels: np.ndarray | None = None
    side_pixels: np.ndarray | None = None
    position: StreamPosition | None = None


@dataclass
class DecodedPair:
    """Decoded images of one pair.

    ``left`` is the primary view decoded with side information when ``side`` was given, else
    alone; ``left_alone`` is the primary view decoded without side information (X_dec);
    ``right`` is the decoded side view. Any of them is None when its bitstream was missing.
    ``search``: how the SI-Finder searched (``full`` or ``warm``:
    :data:`pipeline.codec.model.si_track.Search`; None without side information).
    """

    left: np.ndarray | None
    left_alone: np.ndarray | None
    right: np.ndarray | None
    search: str | None = None


@dataclass
class StageSeconds:
    """Wall-clock seconds one batch spent in each decode stage."""

    entropy_decode: float = 0.0
    synthesis: float = 0.0
    si_finder: float = 0.0
    si_net: float = 0.0

    def as_dict(self) -> dict[str, float]:
        """Stage name to seconds, for metrics."""
        return dict(self.__dict__)


@dataclass
class DecodedBatch:
    """The result of :meth:`StereoDecoder.decode_batch`: one pair per request, in order."""

    pairs: list[DecodedPair]
    seconds: StageSeconds = field(default_factory=StageSeconds)
