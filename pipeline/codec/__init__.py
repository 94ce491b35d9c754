"""The DSIN side-information codec on CompressAI (see docs/CONTRACTS.md for the interface)."""

import warnings

warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=FutureWarning)

from pipeline.codec.api import DecodedBatch, DecodedPair, DecodeRequest, Role  # noqa: E402
from pipeline.codec.container import BitstreamHeader, read_header  # noqa: E402
from pipeline.codec.decoder import StereoDecoder  # noqa: E402
from pipeline.codec.encoder import ImageEncoder  # noqa: E402
from pipeline.codec.errors import BitstreamError, CodecError  # noqa: E402

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
