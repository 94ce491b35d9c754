"""Our codec in the evaluation: left view alone (``ours``) and with the right view (``ours_si``).

One encode of each view and one ``decode_batch`` give both: ``left_alone`` is the left view
decoded without side information, ``left`` the same bitstream decoded with the right view as
side information (DSIN, Ayzik & Avidan, ECCV 2020). The two share the left bitstream, so they
have the same bits per pixel; the right view's bits are reported apart as ``side_bpp``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np


@dataclass
class OursResult:
    """The outcome of coding one stereo pair at one quality."""

    left_bytes: int
    side_bytes: int
    left_alone: np.ndarray
    left_si: np.ndarray
    encode_seconds: float
    decode_seconds: float


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
        from pipeline.codec.errors import WeightsError
        from pipeline.codec.registry import WEIGHTS_DIR, load

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

    def run(self, left: np.ndarray, right: np.ndarray, quality: int) -> OursResult:
        """Encode both views at ``quality`` (the right at ``side_quality`` if set) and decode."""
        from pipeline.codec import Role

        start = time.perf_counter()
        left_bits = self.encode_left(left, quality)
        encode_seconds = time.perf_counter() - start
        self._sample = left_bits
        side_quality = self.side_quality if self.side_quality is not None else quality
        right_bits = self.encoder.encode(right, role=Role.SIDE, quality=side_quality)
        left_alone, left_si, decode_seconds = decode_left(self.decoder, left_bits, right_bits, left)
        return OursResult(
            left_bytes=len(left_bits),
            side_bytes=len(right_bits),
            left_alone=left_alone,
            left_si=left_si,
            encode_seconds=encode_seconds,
            decode_seconds=decode_seconds,
        )


def decode_left(
    decoder, left_bits: bytes, right_bits: bytes, original: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """Decode one pair: the left view alone and with side information (in the original's
    layout), and the seconds the decoder took."""
    from pipeline.codec import DecodeRequest

    start = time.perf_counter()
    batch = decoder.decode_batch([DecodeRequest(primary=left_bits, side=right_bits)])
    seconds = time.perf_counter() - start
    pair = batch.pairs[0]
    if pair.left is None or pair.left_alone is None:
        raise RuntimeError("decoder returned no left view for a pair with both bitstreams")
    return match_channels(pair.left_alone, original), match_channels(pair.left, original), seconds


def match_channels(decoded: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Return ``decoded`` with the reference's layout: RGB kept, grey as (H, W).

    A decoder that returns grey as three equal channels is accepted (its luma is used); any
    other mismatch of size or channels is an error, never silently scored.
    """
    if decoded.ndim == 3 and decoded.shape[2] == 1:
        decoded = decoded[:, :, 0]
    if reference.ndim == 2 and decoded.ndim == 3:
        decoded = cv2.cvtColor(np.ascontiguousarray(decoded), cv2.COLOR_RGB2GRAY)
    if decoded.shape != reference.shape or decoded.dtype != np.uint8:
        raise ValueError(
            f"decoded image {decoded.shape} {decoded.dtype} does not match the original "
            f"{reference.shape} uint8"
        )
    return decoded
