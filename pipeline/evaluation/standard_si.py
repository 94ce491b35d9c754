"""Standard codecs with side information in the evaluation: ``jpeg_si``, ``webp_si``, ``avif_si``.

Both views are coded with the same standard codec at the same quality, exactly as camera nodes
code them (:class:`pipeline.codec.encoder.StandardEncoder`: the codec's file inside our
container), and decoded by the decoder the daemon runs (:class:`pipeline.codec.StereoDecoder`):
the left view alone gives the plain codec's row, the left view with the right one as side
information gives the ``*_si`` row. The plain row counts the codec's file bytes (what a user of
that codec would send); the ``*_si`` row counts the whole container (the file plus about 40
bytes of header), so it carries the container's cost.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from pipeline.evaluation.ours import decode_left

if TYPE_CHECKING:
    from pipeline.codec import StereoDecoder


@dataclass
class StandardSIResult:
    """One pair coded at one quality: file and container sizes, the two left decodes, times."""

    file_bytes: int
    container_bytes: int
    side_bytes: int
    left_alone: np.ndarray
    left_si: np.ndarray
    encode_seconds: float
    decode_seconds: float


class StandardSI:
    """Codes pairs with a standard codec and decodes them with and without side information."""

    def __init__(
        self,
        device: str = "auto",
        self_ensemble: int | Literal["auto"] = "auto",
        decoder: StereoDecoder | None = None,
    ) -> None:
        """``decoder``: an existing one to share (its device and self-ensemble apply)."""
        from pipeline.codec import StereoDecoder

        self.decoder = decoder or StereoDecoder(device=device, self_ensemble=self_ensemble)
        self._encoders: dict[str, object] = {}

    @property
    def weights_hash(self) -> str | None:
        """The hash of the standard-codec SI-Net the decoder holds (None: it holds none)."""
        return self.decoder.standard_weights_hash

    def run(
        self, codec: str, left: np.ndarray, right: np.ndarray, quality: int
    ) -> StandardSIResult:
        """Encode both views with ``codec`` at ``quality`` and decode the pair."""
        from pipeline.codec import Role
        from pipeline.codec.container import parse
        from pipeline.codec.encoder import StandardEncoder

        encoder = self._encoders.setdefault(codec, StandardEncoder(codec))
        start = time.perf_counter()
        left_bits = encoder.encode(left, Role.PRIMARY, quality)
        encode_seconds = time.perf_counter() - start
        right_bits = encoder.encode(right, Role.SIDE, quality)
        left_alone, left_si, decode_seconds = decode_left(self.decoder, left_bits, right_bits, left)
        return StandardSIResult(
            file_bytes=len(parse(left_bits).strings[0]),
            container_bytes=len(left_bits),
            side_bytes=len(right_bits),
            left_alone=left_alone,
            left_si=left_si,
            encode_seconds=encode_seconds,
            decode_seconds=decode_seconds,
        )
