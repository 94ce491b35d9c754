"""Write decoded views as PNG files, atomically: ``<dir>/<rig>/<view>/<seq:06d>.png``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from decoder_node.config import PngSinkConfig
from decoder_node.frames import DecodedItem
from decoder_node.sinks.base import Sink
from decoder_node.sinks.retention import Retention

if TYPE_CHECKING:
    from decoder_node.sinks.set import SinkMetrics


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
    """Views ``left`` (with SI when paired), ``right`` and optionally ``left_alone``.

    With ``max_files`` or ``max_age_s`` set, the oldest PNGs under ``dir`` are deleted as new
    ones are written (:class:`~decoder_node.sinks.retention.Retention`).
    """

    name = "png"

    def __init__(self, cfg: PngSinkConfig) -> None:
        self._dir = cfg.dir
        self._left_alone = cfg.left_alone
        self._compression = cfg.compression
        self.retention = Retention(cfg.max_files, cfg.max_age_s)

    def attach_metrics(self, metrics: SinkMetrics) -> None:
        """Count deleted files in the daemon's ``sink_files_deleted_total``."""
        self.retention.deleted = metrics.files_deleted

    def open(self) -> None:
        """Create the output folder and take stock of the PNGs already in it."""
        self._dir.mkdir(parents=True, exist_ok=True)
        self.retention.scan(self._dir)

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
            self.retention.added(path)
