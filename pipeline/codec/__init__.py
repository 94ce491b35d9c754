"""The DSIN side-information codec on CompressAI (see docs/CONTRACTS.md for the interface).

The names that need torch (:class:`StereoDecoder`, :class:`ImageEncoder`) load on first use
(PEP 562), so a camera with a standard codec imports this package without torch installed
(docs/install.md).
"""

import importlib
import warnings
from typing import TYPE_CHECKING

warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=FutureWarning)

from pipeline.codec.api import DecodedBatch, DecodedPair, DecodeRequest, Role  # noqa: E402
from pipeline.codec.bitstream.container import BitstreamHeader, read_header  # noqa: E402
from pipeline.codec.bitstream.errors import BitstreamError, CodecError  # noqa: E402

if TYPE_CHECKING:
    from pipeline.codec.decode.decoder import StereoDecoder
    from pipeline.codec.model.encoder import ImageEncoder

_NEEDS_TORCH = {
    "StereoDecoder": "pipeline.codec.decode.decoder",
    "ImageEncoder": "pipeline.codec.model.encoder",
}

__all__ = [
    "BitstreamError",
    "BitstreamHeader",
    "CodecError",
    "DecodeRequest",
    "DecodedBatch",
    "DecodedPair",
    "ImageEncoder",
    "Role",
    "StereoDecoder",
    "read_header",
]


def __getattr__(name: str) -> object:
    """Import the torch-backed classes only when asked for."""
    if name in _NEEDS_TORCH:
        return getattr(importlib.import_module(_NEEDS_TORCH[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
