"""Standard codecs with side information in the evaluation: ``jpeg_si``, ``webp_si``, ``avif_si``.

Both views are coded with the same standard codec at the same quality, exactly as camera nodes
code them (:class:`pipeline.codec.model.encoder.StandardEncoder`: the codec's file inside our
container), and decoded by the decoder the daemon runs (:class:`pipeline.codec.StereoDecoder`):
the left view alone gives the plain codec's row, the left view with the right one as side
information gives the ``*_si`` row. The plain row counts the codec's file bytes (what a user of
that codec would send); the ``*_si`` row counts the whole container (the file plus about 40
bytes of header), so it carries the container's cost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from pipeline.evaluation.coded_pair import CodedPair, code_pair

if TYPE_CHECKING:
    from pipeline.codec import StereoDecoder


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

    def run(self, codec: str, left: np.ndarray, right: np.ndarray, quality: int) -> CodedPair:
        """Encode both views with ``codec`` at ``quality`` and decode the pair; the left view
        alone costs its codec's file (the container less its header)."""
        from pipeline.codec import Role
        from pipeline.codec.bitstream.container import parse
        from pipeline.codec.encode import StandardEncoder

        encoder = self._encoders.setdefault(codec, StandardEncoder(codec))
        return code_pair(
            self.decoder,
            left,
            lambda: encoder.encode(left, Role.PRIMARY, quality),
            lambda: encoder.encode(right, Role.SIDE, quality),
            alone_bytes=lambda bits: len(parse(bits).strings[0]),
        )
