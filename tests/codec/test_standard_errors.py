"""Standard-codec decoding reports bad bytes as CorruptBitstreamError, and only bad bytes.

What Pillow and OpenCV raise on damaged files becomes ``CorruptBitstreamError``; anything else
raised inside the decode (``MemoryError``, a ``TypeError`` of a bug) propagates, so the daemon
counts it as ``decode_error`` and the decode fuzz target reports it.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import AvifImagePlugin, Image

from pipeline.codec import DecodeRequest, Role
from pipeline.codec import standard as standard_module
from pipeline.codec.bitstream.errors import CorruptBitstreamError
from pipeline.codec.encode import StandardEncoder
from pipeline.codec.standard import CODEC_NAMES, STANDARD_CODECS
from tests.conftest import natural_image
from tests.fuzz.mutate import mutated
from tests.fuzz.target import bounded

SHAPES = ((32, 48, 3), (64, 64, 1), (40, 24, 3))
QUALITIES = (10, 50, 90)
NOT_DATA_ERRORS = (TypeError, MemoryError, AttributeError, AssertionError)


def payloads(codec: str) -> list[tuple[bytes, int, tuple[int, int]]]:
    """Files of ``codec`` at several shapes, channel counts and qualities: (file, channels,
    (height, width))."""
    files = []
    for seed, (height, width, channels) in enumerate(SHAPES):
        image = natural_image(height, width, channels, seed=seed)
        for quality in QUALITIES:
            files.append((STANDARD_CODECS[codec].encode(image, quality), channels, (height, width)))
    return files


@st.composite
def damaged(draw, files: list[tuple[bytes, int, tuple[int, int]]]) -> tuple[int, bytes]:
    """The index of one of ``files`` and that file mutated (the fuzz targets' mutations)."""
    index = draw(st.integers(0, len(files) - 1))
    return index, draw(mutated(st.just(files[index][0])))


def library_call(codec: str, stage: str) -> tuple[object, str]:
    """The object and attribute of the library call ``stage`` ("header" or "pixels") of
    ``codec`` makes: where a test injects an exception."""
    if stage == "header":
        return Image, "open"
    if codec == "avif":
        return AvifImagePlugin.AvifImageFile, "load"
    return standard_module.cv2, "imdecode"


def raiser(error: type[BaseException]):
    def fail(*args, **kwargs):
        raise error("injected inside the library call")

    return fail


@pytest.mark.parametrize("codec", CODEC_NAMES)
@pytest.mark.parametrize("stage", ["header", "pixels"])
@pytest.mark.parametrize("error", NOT_DATA_ERRORS)
def test_an_error_that_is_not_bad_data_propagates(monkeypatch, codec, stage, error):
    data, channels, shape = payloads(codec)[0]
    monkeypatch.setattr(*library_call(codec, stage), raiser(error))
    with pytest.raises(error) as raised:
        STANDARD_CODECS[codec].decode(data, channels, shape)
    assert not isinstance(raised.value, CorruptBitstreamError)


def test_a_bug_in_a_view_reaches_the_decoders_caller_unchanged(monkeypatch, decoder):
    data = StandardEncoder("jpeg").encode(natural_image(32, 48, 3), Role.PRIMARY, 50)
    monkeypatch.setattr(standard_module.cv2, "imdecode", raiser(TypeError))
    with pytest.raises(TypeError, match="injected"):
        decoder.decode_batch([DecodeRequest(primary=data)])


@pytest.mark.parametrize("codec", CODEC_NAMES)
def test_mutated_files_decode_or_raise_only_corrupt_bitstream_error(codec):
    files = payloads(codec)
    causes: set[type[BaseException]] = set()

    @bounded(400)
    @given(damaged(files))
    def decode_mutated(drawn: tuple[int, bytes]) -> None:
        index, data = drawn
        _, channels, shape = files[index]
        try:
            image = STANDARD_CODECS[codec].decode(data, channels, shape)
        except CorruptBitstreamError as e:  # anything else fails the test
            if e.__cause__ is not None:  # not a header that disagrees with the container
                causes.add(type(e.__cause__))
            return
        assert image.dtype == np.uint8 and image.shape[:2] == shape

    decode_mutated()
    # The exceptions the libraries raised are all in the codec's narrowed set (or the test
    # would have failed above), and the sample reaches more than the header check.
    assert all(issubclass(c, STANDARD_CODECS[codec].data_errors) for c in causes)
    assert len(causes) >= 3, causes  # e.g. AVIF: UnidentifiedImageError, SyntaxError, RuntimeError
