"""Shared helpers for benchmarks: environment record and a real test frame."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import cv2
import numpy as np
import torch

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def environment() -> dict[str, object]:
    """Device and versions, recorded with every benchmark result."""
    import av
    import compressai

    return {
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": __import__("os").cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "compressai": compressai.__version__,
        "opencv": cv2.__version__,
        "numpy": np.__version__,
        "av": av.__version__,
        "libavcodec": ".".join(map(str, av.library_versions["libavcodec"])),
    }


def real_frame(width: int = 640, height: int = 480) -> tuple[np.ndarray, str]:
    """A real RGB photo cropped to ``width`` x ``height`` (Kodak), or the synthetic scene."""
    path = DATA / "natural" / "kodak" / "kodim23.png"
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is not None and image.shape[0] >= height and image.shape[1] >= width:
        return cv2.cvtColor(image[:height, :width], cv2.COLOR_BGR2RGB), f"{path.name} crop"
    from pipeline.scene import render_stereo_frame

    return render_stereo_frame(0, width, height, seed=0)[0], "synthetic scene"


SEQUENCE = "euroc_v1_01"
"""The real sequence the video codecs are timed on: a nearly static drone camera, 752x480 grey
at 20 Hz (the evaluation sequence of a slow camera, ../shared/data/README.md)."""


def real_sequence(count: int, width: int = 640, height: int = 480) -> tuple[list[np.ndarray], str]:
    """The first ``count`` consecutive left frames of :data:`SEQUENCE`, centre-cropped to
    ``width`` x ``height`` grey; without the data, ``count`` frames of the synthetic scene
    (grey, moving)."""
    paths = sorted((DATA / "stereo" / SEQUENCE / "left").glob("*.png"))[:count]
    frames = [cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) for path in paths]
    if frames and all(
        f is not None and f.shape[0] >= height and f.shape[1] >= width for f in frames
    ):
        top, left = (frames[0].shape[0] - height) // 2, (frames[0].shape[1] - width) // 2
        crops = [f[top : top + height, left : left + width].copy() for f in frames]
        return crops, f"{SEQUENCE} left {len(crops)} frames, centre crop"
    from pipeline.scene import render_stereo_frame

    views = [render_stereo_frame(i, width, height, seed=0)[0] for i in range(count)]
    return [cv2.cvtColor(v, cv2.COLOR_RGB2GRAY) for v in views], "synthetic scene (grey)"


def write_report(result: dict[str, object], out: str | None, indent: int | None = 2) -> None:
    """Write ``result`` as JSON to ``out`` (parents made) when given; print it as one line."""
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(result, indent=indent) + "\n")
    print(json.dumps(result))
