"""Pins of the side-information path and of the encoders' bytes, recorded on 449ca8a.

    .venv/bin/python -m tests.golden.pins

The source is a rendered stereo pair (:mod:`pipeline.scene`, deterministic). For the learned
codec (``dsin``, ``dsin-s1``) and one standard codec (``jpeg``, SI-Net ``si-std1``), both views
are encoded on this CPU (the committed ``<codec>_<side>.sic`` files) and the pair is decoded
with side information: float32, one SI-Net pass, the deterministic CPU decoder. Recorded in
``pins.json``: the SHA-256 of each encoder's bytes and of the decoded left view (with and
without side information), and the PSNR of each against the source, which
``tests/codec/test_golden_pins.py`` checks to 0.1 dB independently of the hashes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from pipeline.codec import DecodeRequest, Role, StereoDecoder
from pipeline.evaluation.quality import psnr
from pipeline.scene.render import render_stereo_frame

HERE = Path(__file__).resolve().parent
PINS = HERE / "pins.json"
#: The camera codec pinned and the quality it encodes at.
CODECS = {"dsin": 6, "jpeg": 50}
SIZE = (96, 192)  # height, width: a frame the SI-Finder's 16-pixel patches tile


def source() -> tuple[np.ndarray, np.ndarray]:
    """The rendered stereo pair every pin starts from (left, right), uint8 RGB."""
    height, width = SIZE
    return render_stereo_frame(3, width, height, seed=11)


def bitstream_path(codec: str, side: str) -> Path:
    """The committed container of one view as the encoder wrote it on 449ca8a."""
    return HERE / f"{codec}_{side}.sic"


def encode(codec: str) -> tuple[bytes, bytes]:
    """Both views of :func:`source` encoded with the camera codec ``codec`` on this CPU."""
    from pipeline.codec.family import make_encoder

    encoder = make_encoder(codec)
    left, right = source()
    quality = CODECS[codec]
    return (
        encoder.encode(left, Role.PRIMARY, quality),
        encoder.encode(right, Role.SIDE, quality),
    )


def sha256(data: bytes | np.ndarray) -> str:
    """SHA-256 hex of bytes or of an array's contiguous bytes."""
    raw = data if isinstance(data, bytes) else np.ascontiguousarray(data).tobytes()
    return hashlib.sha256(raw).hexdigest()


def measure(left: bytes, right: bytes, decoder: StereoDecoder) -> dict[str, object]:
    """Hashes and PSNR (dB, against :func:`source`) of one pair decoded with side information."""
    pair = decoder.decode_batch([DecodeRequest(left, right)]).pairs[0]
    source_left, source_right = source()
    return {
        "fused_sha256": sha256(pair.left),
        "fused_psnr": round(psnr(source_left, pair.left), 4),
        "alone_sha256": sha256(pair.left_alone),
        "alone_psnr": round(psnr(source_left, pair.left_alone), 4),
        "right_psnr": round(psnr(source_right, pair.right), 4),
    }


def pin_decoder() -> StereoDecoder:
    """The decoder the pins are recorded with: CPU, deterministic (float32), one SI-Net pass."""
    return StereoDecoder(device="cpu", deterministic=True, self_ensemble=1)


def record() -> dict[str, dict[str, object]]:
    """Encode, write the bitstreams, decode: every pin, by codec."""
    decoder = pin_decoder()
    pins = {}
    for codec in CODECS:
        left, right = encode(codec)
        bitstream_path(codec, "left").write_bytes(left)
        bitstream_path(codec, "right").write_bytes(right)
        pins[codec] = {
            "model_id": decoder_model_id(left),
            "left_bytes_sha256": sha256(left),
            "right_bytes_sha256": sha256(right),
            **measure(left, right, decoder),
        }
    return pins


def decoder_model_id(data: bytes) -> str:
    """The model id a container names."""
    from pipeline.codec import read_header

    return read_header(data).model_id


def main() -> None:
    """Record the pins (only on purpose: they pin behaviour across refactors)."""
    pins = record()
    PINS.write_text(json.dumps(pins, indent=2) + "\n")
    print(f"wrote {PINS}")


if __name__ == "__main__":
    main()
