"""The largest image a decoder accepts, checked on every declared shape before any work.

A bitstream (or the wire header in front of it) declares its image's height and width, and the
decoder allocates for that shape; a hostile or broken camera could declare 65535x65535 in a
message of a few bytes. :meth:`ImageLimits.check` runs on the wire header and on the container
header before anything of that size is allocated.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.codec.bitstream.errors import ImageTooLargeError


@dataclass(frozen=True)
class ImageLimits:
    """Per-side and total pixel bounds of a decodable image.

    The defaults take a 4096-pixel side and 4,194,304 pixels (4096x1024, 3840x1080, 2048x2048):
    above what the project's cameras send, below what a decode batch can hold in memory.
    """

    max_width: int = 4096
    max_height: int = 4096
    max_pixels: int = 4096 * 1024

    def check(self, height: int, width: int) -> None:
        """Raise :class:`ImageTooLargeError` if a ``height`` x ``width`` image is too large."""
        if height > self.max_height or width > self.max_width:
            raise ImageTooLargeError(
                f"image {height}x{width} exceeds the limit of {self.max_height} rows and "
                f"{self.max_width} columns"
            )
        if height * width > self.max_pixels:
            raise ImageTooLargeError(
                f"image {height}x{width} has {height * width} pixels, over the limit of "
                f"{self.max_pixels}"
            )
