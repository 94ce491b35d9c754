"""Typed errors of the codec: every bad bitstream or model problem raises one of these."""


class CodecError(Exception):
    """Base class of every error raised by :mod:`pipeline.codec`."""


class BitstreamError(CodecError):
    """A bitstream cannot be decoded; subclasses say why."""


class TruncatedBitstreamError(BitstreamError):
    """The bitstream ends before the lengths in its header say it should."""


class CorruptBitstreamError(BitstreamError):
    """The bytes do not match their CRC32, the magic is wrong, or a field is out of range."""


class UnsupportedVersionError(BitstreamError):
    """The bitstream was written by a format version this build does not read."""


class ModelMismatchError(BitstreamError):
    """The bitstream names a model id or weights hash that is not the one loaded."""


class WeightsError(CodecError):
    """Weights are missing, fail their hash check, or lack their CDF tables."""


class ImageTooLargeError(CorruptBitstreamError):
    """A bitstream declares an image larger than the decoder's configured limits."""
