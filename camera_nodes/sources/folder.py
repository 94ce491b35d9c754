"""An image-sequence folder as a frame source: ``<path>/<side>/NNNNNN.png`` in name order.

Each image keeps its own channels: a grey image (a single-channel PNG, a grey JPEG) is read as
one channel and streamed as one, a colour image as RGB.
"""

from __future__ import annotations

from pathlib import Path

from camera_nodes.config import FolderSourceConfig
from camera_nodes.sources.base import EndOfStream, Frame, FrameSource, SourceError
from pipeline.codec.inputs import read_image
from pipeline.image_folders import IMAGE_SUFFIXES, images_in


class FolderSource(FrameSource):
    """Reads ``<path>/left/*`` or ``<path>/right/*`` sorted by name; seq is the position.

    Both views of a pair have the same position in their folders, so their seqs match.
    ``read`` blocks on disk I/O only; it raises :class:`EndOfStream` after the last image
    (unless ``loop``) and :class:`SourceError` for an image that cannot be decoded.
    """

    def __init__(self, config: FolderSourceConfig, side: str) -> None:
        self.config, self.side = config, side
        self._files: list[Path] = []
        self._next = 0

    def connect(self) -> None:
        folder = Path(self.config.path) / self.side
        if not folder.is_dir():
            raise SourceError(f"image folder {folder} does not exist")
        self._files = images_in(folder)
        if not self._files:
            raise SourceError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
        self._next = 0

    def read(self) -> Frame:
        if not self._files:
            raise SourceError("folder source read before connect()")
        if self._next >= len(self._files) and not self.config.loop:
            raise EndOfStream(f"{len(self._files)} images read")
        seq = self._next
        self._next += 1
        path = self._files[seq % len(self._files)]
        try:
            return Frame(seq, read_image(path))
        except (OSError, ValueError) as e:
            raise SourceError(f"cannot read {path}: {e}") from e

    def disconnect(self) -> None:
        self._files = []
