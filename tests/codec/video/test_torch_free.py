"""The video codecs run on a camera's base install: encoding and decoding import no torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import sys
from tests.integration.without_torch import LearnedExtraBlocker
blocker = LearnedExtraBlocker()
sys.meta_path.insert(0, blocker)
import numpy as np
from pipeline.codec.video import VideoEncoder, VideoSettings, VideoStreamDecoder
image = np.tile(np.arange(64, dtype=np.uint8), (48, 1))
for codec in ("h264", "hevc", "av1"):
    with VideoEncoder(VideoSettings(codec=codec), 64, 48, 1) as encoder:
        packet = encoder.encode(image)
    assert VideoStreamDecoder(codec, 1).decode(packet).image.shape == (48, 64)
print("attempts:", blocker.attempts)
"""


def test_the_video_codecs_encode_and_decode_with_torch_unimportable():
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "attempts: []"
