"""Regenerate the golden bitstream after the shipped weights change.

    .venv/bin/python -m tests.golden.regenerate

Writes ``tests/golden/golden.sic`` and ``tests/golden/expected.json``: the SHA-256 of the
entropy-decoded latents (bit-exact on every device) and of the decoded image (the
deterministic CPU decoder).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from pipeline.codec import DecodeRequest, ImageEncoder, StereoDecoder
from tests.conftest import natural_image

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden.sic"
EXPECTED = HERE / "expected.json"


def digests(data: bytes, decoder: StereoDecoder) -> dict[str, str]:
    """SHA-256 of the latents and of the decoded image of one bitstream."""
    latents = decoder.entropy_decode([DecodeRequest(data)]).items[0][0]
    image = decoder.decode_batch([DecodeRequest(data)]).pairs[0].left
    return {
        "latents_sha256": hashlib.sha256(latents.y_hat.numpy().tobytes()).hexdigest(),
        "image_sha256": hashlib.sha256(np.ascontiguousarray(image).tobytes()).hexdigest(),
    }


def main() -> None:
    """Encode the golden image with the shipped default model and record its digests."""
    data = ImageEncoder().encode(natural_image(72, 104, 3, 99), quality=6)
    GOLDEN.write_bytes(data)
    decoder = StereoDecoder(device="cpu", deterministic=True)
    EXPECTED.write_text(json.dumps(digests(data, decoder), indent=2) + "\n")
    print(f"wrote {GOLDEN} ({len(data)} bytes) and {EXPECTED}")


if __name__ == "__main__":
    main()
