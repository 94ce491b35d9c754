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
class DecodeRequest:
    """One stereo pair to decode; either bitstream may be missing (not both).

    ``side_image`` is an uncompressed side view (uint8, grey or RGB) to use as side
    information instead of a side bitstream (for example a PNG on disk). ``primary_pixels`` and
    ``side_pixels``: a video view's image, decoded from its bitstream's packet at receive, in
    its stream (``docs/video.md``): a video view is never decoded again from its bitstream,
    whose container is still checked.
    """

    primary: bytes | None
    side: bytes | None = None
    side_image: np.ndarray | None = None
    primary_pixels: np.ndarray | None = None
    side_pixels: np.ndarray | None = None


@dataclass
class DecodedPair:
    """Decoded images of one pair.

    ``left`` is the primary view decoded with side information when ``side`` was given, else
    alone; ``left_alone`` is the primary view decoded without side information (X_dec);
    ``right`` is the decoded side view. Any of them is None when its bitstream was missing.
    """

    left: np.ndarray | None
    left_alone: np.ndarray | None
    right: np.ndarray | None


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
