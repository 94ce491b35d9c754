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
    }


def real_frame(width: int = 640, height: int = 480) -> tuple[np.ndarray, str]:
    """A real RGB photo cropped to ``width`` x ``height`` (Kodak), or the synthetic scene."""
    path = DATA / "natural" / "kodak" / "kodim23.png"
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is not None and image.shape[0] >= height and image.shape[1] >= width:
        return cv2.cvtColor(image[:height, :width], cv2.COLOR_BGR2RGB), f"{path.name} crop"
    from pipeline.scene import render_stereo_frame

    return render_stereo_frame(0, width, height, seed=0)[0], "synthetic scene"


def write_report(result: dict[str, object], out: str | None, indent: int | None = 2) -> None:
    """Write ``result`` as JSON to ``out`` (parents made) when given; print it as one line."""
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(result, indent=indent) + "\n")
    print(json.dumps(result))
