"""Our codec in the evaluation: left view alone (``ours``) and with the right view (``ours_si``).

One encode of each view and one ``decode_batch`` give both: ``left_alone`` is the left view
decoded without side information, ``left`` the same bitstream decoded with the right view as
side information (DSIN, Ayzik & Avidan, ECCV 2020). The two share the left bitstream, so they
have the same bits per pixel; the right view's bits are reported apart as ``side_bpp``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np

from pipeline.evaluation.coded_pair import CodedPair, code_pair


class OursCodec:
    """Wraps ``pipeline.codec``'s ImageEncoder and StereoDecoder for the evaluation."""

    def __init__(
        self,
        model: str | None = None,
        device: str = "auto",
        side_quality: int | None = None,
        self_ensemble: int | Literal["auto"] = "auto",
        weights_dir: Path | None = None,
    ) -> None:
        """``weights_dir``: load the model's weights from that folder (one hash-named file, as
        ``stereo-pipeline export --out-dir`` writes) instead of the package's own."""
        from pipeline.codec import ImageEncoder, StereoDecoder
        from pipeline.codec.bitstream.errors import WeightsError
        from pipeline.codec.model.registry import load
        from pipeline.codec.weights import WEIGHTS_DIR

        try:
            # a candidate may be wider than the registry entry (pipeline.training.surgery.widen*)
            loaded = load(model, weights_dir or WEIGHTS_DIR, widths_from_file=bool(weights_dir))
        except WeightsError as error:  # the command line reports ValueErrors as bad arguments
            raise ValueError(f"weights: {error}") from error
        self.encoder = ImageEncoder(loaded=loaded)
        self.decoder = StereoDecoder(device=device, self_ensemble=self_ensemble, loaded=loaded)
        self.side_quality = side_quality
        self.qualities: tuple[int, ...] = tuple(self.encoder.qualities)
        self._sample: bytes | None = None

    def describe(self) -> dict[str, object]:
        """Device, and model id and weights hash as read from a bitstream this run made."""
        from pipeline.codec import read_header

        info: dict[str, object] = {
            "device": str(self.decoder.device),
            "self_ensemble": self.decoder.self_ensemble,
        }
        if self._sample is not None:
            header = read_header(self._sample)
            info |= {"model_id": header.model_id, "weights_hash": header.weights_hash}
        return info

    def encode_left(self, left: np.ndarray, quality: int) -> bytes:
        """The left view as a primary bitstream."""
        from pipeline.codec import Role

        return self.encoder.encode(left, role=Role.PRIMARY, quality=quality)

    def run(self, left: np.ndarray, right: np.ndarray, quality: int) -> CodedPair:
        """Encode both views at ``quality`` (the right at ``side_quality`` if set) and decode."""
        from pipeline.codec import Role

        side_quality = self.side_quality if self.side_quality is not None else quality
        result = code_pair(
            self.decoder,
            left,
            lambda: self.encode_left(left, quality),
            lambda: self.encoder.encode(right, role=Role.SIDE, quality=side_quality),
        )
        self._sample = result.left_bits
        return result
