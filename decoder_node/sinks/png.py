"""Write decoded views as PNG files, atomically: ``<dir>/<rig>/<view>/<seq:06d>.png``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

from decoder_node.config import PngSinkConfig
from decoder_node.frames import DecodedItem
from decoder_node.sinks.base import Sink


def write_png_atomic(path: Path, image: np.ndarray, compression: int = 1) -> None:
    """Write ``image`` (RGB or grey uint8) to ``path`` so readers never see a partial file.

    The PNG is written to a temporary file in the same folder and renamed over ``path`` with
    :func:`os.replace`, which is atomic on POSIX. Raises ``OSError`` if it cannot be written.
    """
    pixels = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
    ok, encoded = cv2.imencode(".png", pixels, [cv2.IMWRITE_PNG_COMPRESSION, compression])
    if not ok:
        raise OSError(f"PNG encoding failed for {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(encoded.tobytes())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class PngSink(Sink):
    """Views ``left`` (with SI when paired), ``right`` and optionally ``left_alone``."""

    name = "png"

    def __init__(self, cfg: PngSinkConfig) -> None:
        self._dir = cfg.dir
        self._left_alone = cfg.left_alone
        self._compression = cfg.compression

    def open(self) -> None:
        """Create the output folder."""
        self._dir.mkdir(parents=True, exist_ok=True)

    def write(self, decoded: DecodedItem) -> None:
        """Write each view present; the file name is that view's own frame seq."""
        item = decoded.item
        for view, image in decoded.images().items():
            if view == "left_alone" and not self._left_alone:
                continue
            frame = item.right if view == "right" else item.left
            if frame is None:
                continue
            path = self._dir / item.rig / view / f"{frame.seq:06d}.png"
            write_png_atomic(path, image, self._compression)
