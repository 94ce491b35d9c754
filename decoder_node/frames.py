"""The units of work that flow through the daemon: a received frame, a pair, a decoded pair."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pipeline.wire import FrameHeader


@dataclass(frozen=True)
class ReceivedFrame:
    """One accepted frame message: its wire header, bitstream, and when it arrived.

    ``recv_ns`` is ``time.time_ns()`` (comparable with the camera's ``capture_ns`` only when the
    clocks agree); ``recv_mono`` is ``time.monotonic()`` for intervals inside the daemon.
    ``weights_hash`` is the one the bitstream's header names (set once the receiver has read it).
    ``pixels``: a video frame's image, decoded at receive in its stream (``decoder_node.streams``),
    and ``stream_s`` the seconds that took; None and 0 for the frames of image codecs.
    """

    header: FrameHeader
    payload: bytes
    recv_ns: int
    recv_mono: float
    weights_hash: str = ""
    pixels: np.ndarray | None = field(default=None, compare=False, repr=False)
    stream_s: float = 0.0

    @property
    def key(self) -> tuple[str, str]:
        """(rig, side): the camera, and its stream's key."""
        return self.header.rig_id, self.header.side

    @property
    def model_key(self) -> tuple[str, str]:
        """(model id, weights hash): the weights set that decodes this frame."""
        return self.header.model_id, self.weights_hash

    @property
    def rig(self) -> str:
        """The rig id from the wire header."""
        return self.header.rig_id

    @property
    def side(self) -> str:
        """``"left"`` or ``"right"``."""
        return self.header.side

    @property
    def seq(self) -> int:
        """The frame index on its camera."""
        return self.header.seq

    @property
    def capture_ns(self) -> int:
        """Capture time on the camera's clock, nanoseconds since the epoch."""
        return self.header.capture_ns

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(height, width, channels)`` as announced in the header."""
        h = self.header
        return (h.height, h.width, h.channels)

    @property
    def bits_per_pixel(self) -> float:
        """Coded size of this view in bits per pixel."""
        return 8.0 * len(self.payload) / (self.header.height * self.header.width)


@dataclass
class StereoItem:
    """One unit of decode work: a pair, or a view whose partner never came.

    ``ready_mono`` is when the pairer released it; the batcher sets ``queued_mono``.
    """

    rig: str
    left: ReceivedFrame | None
    right: ReceivedFrame | None
    ready_mono: float
    queued_mono: float = 0.0

    def __post_init__(self) -> None:
        if self.left is None and self.right is None:
            raise ValueError("a StereoItem needs at least one view")

    @property
    def frames(self) -> list[ReceivedFrame]:
        """The views present, left first."""
        return [f for f in (self.left, self.right) if f is not None]

    @property
    def shape_key(self) -> tuple[tuple[int, int, int] | None, tuple[int, int, int] | None]:
        """Batch grouping key: the shapes of both views (None where a view is missing)."""
        return (
            self.left.shape if self.left is not None else None,
            self.right.shape if self.right is not None else None,
        )

    @property
    def batch_key(self) -> tuple:
        """Batch grouping key: :attr:`shape_key` and the weights set of each view, so a batch
        holds frames of one model and weights hash only (``docs/weights.md``)."""
        models = tuple(f.model_key if f is not None else None for f in (self.left, self.right))
        return self.shape_key, models

    @property
    def seq(self) -> int:
        """The left view's seq when present, else the right's."""
        return self.frames[0].seq


@dataclass
class DecodedItem:
    """The decoded images of one :class:`StereoItem` plus how long each stage took.

    ``timings`` maps a stage name (``network``, ``pairing``, ``queue``, ``entropy_decode``,
    ``synthesis``, ``si_finder``, ``si_net``, ``sink``) to seconds; batch stages are the whole
    batch's. ``output_ns`` is ``time.time_ns()`` once the output sinks have written it.
    """

    item: StereoItem
    left: np.ndarray | None
    left_alone: np.ndarray | None
    right: np.ndarray | None
    timings: dict[str, float] = field(default_factory=dict)
    output_ns: int = 0

    def images(self) -> dict[str, np.ndarray]:
        """Output name (``left``, ``left_alone``, ``right``) to image, for those present."""
        named = {"left": self.left, "left_alone": self.left_alone, "right": self.right}
        return {k: v for k, v in named.items() if v is not None}
