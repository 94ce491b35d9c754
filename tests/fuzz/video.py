"""Fuzz target ``video``: :class:`~pipeline.codec.video.VideoStreamDecoder` on mutated streams.

FFmpeg's decoders run in the decoder's process, so every packet a camera (or an attacker on the
wire) sends reaches them. Contract (``docs/video.md``): every packet decodes to a uint8 image
of the declared shape and channels, or is dropped with a reason, or raises
:class:`~pipeline.codec.bitstream.errors.CorruptBitstreamError`; after a drop or an error,
nothing but a keyframe decodes. Inputs: short real streams of each codec (H.264, HEVC, AV1;
grey and colour; 16x16, 24x40, 64x48; keyframes at packets 0 and 3) fed to a decoder of their
own codec or another's, with one to three packets byte-mutated (a dictionary of start codes,
NAL and OBU headers), replaced by noise, dropped, duplicated, swapped, moved to another stream
or with their keyframe flag flipped.
"""

from __future__ import annotations

import dataclasses
from functools import cache

from hypothesis import strategies as st

from pipeline.codec.bitstream.errors import CorruptBitstreamError
from pipeline.codec.bitstream.limits import ImageLimits
from pipeline.codec.video import (
    VIDEO_CODECS,
    DecodeOutcome,
    VideoEncoder,
    VideoPacket,
    VideoSettings,
    VideoStreamDecoder,
)
from tests.conftest import natural_image
from tests.fuzz.mutate import ON_THE_WAY, mutated, on_the_way
from tests.fuzz.target import Target

SHAPES = ((16, 16, 3), (24, 40, 1), (64, 48, 3))
PACKETS = 6
#: Annex B start codes; H.264 SPS, PPS, IDR, P slice headers; HEVC VPS, SPS, PPS, IDR; AV1
#: temporal delimiter, sequence header and frame OBU headers.
ANNEX_B = (b"\x00\x00\x01", b"\x00\x00\x00\x01")
H264_NALS = (b"\x67", b"\x68", b"\x65", b"\x41")
HEVC_NALS = (b"\x40\x01", b"\x42\x01", b"\x44\x01", b"\x26\x01")
AV1_OBUS = (b"\x12\x00", b"\x0a", b"\x32")
TOKENS = (*ANNEX_B, *H264_NALS, *HEVC_NALS, *AV1_OBUS, b"\xff\xff\xff\xff")
#: What happens to a packet on its way (byte mutations weighted: they reach FFmpeg's parsers).
DAMAGE = ("bytes", "bytes", "bytes", "noise", "drop", "duplicate", "swap", "stream", "flag")
#: The decoder's limits: a mutated sequence header may declare any size up to 65535x65535.
LIMITS = ImageLimits(max_width=256, max_height=256, max_pixels=256 * 256)


@dataclasses.dataclass(frozen=True)
class Stream:
    """One coded stream: its codec, shape and packets."""

    codec: str
    shape: tuple[int, int, int]
    packets: tuple[VideoPacket, ...]


@cache
def streams() -> tuple[Stream, ...]:
    """The corpus: every codec at every shape, keyframes at 0 and 3 (about a second)."""
    out = []
    for codec in VIDEO_CODECS:
        settings = VideoSettings(codec=codec, fps=10, keyframe_interval_s=0.3)
        for index, (height, width, channels) in enumerate(SHAPES):
            scene = natural_image(height, width + 2 * PACKETS, channels, seed=index)
            with VideoEncoder(settings, width, height, channels, stream_id=index) as encoder:
                packets = [encoder.encode(scene[:, 2 * i : 2 * i + width]) for i in range(PACKETS)]
            out.append(Stream(codec, (height, width, channels), tuple(packets)))
    return tuple(out)


def _damage(draw, packets: list[VideoPacket]) -> None:
    at = draw(st.integers(0, len(packets) - 1))
    packet = packets[at]
    kind = draw(st.sampled_from(DAMAGE))
    if kind == "bytes":
        data = draw(mutated(st.just(packet.data), TOKENS))
        packets[at] = dataclasses.replace(packet, data=data)
    elif kind == "noise":
        packets[at] = dataclasses.replace(packet, data=draw(st.binary(max_size=512)))
    elif kind in ON_THE_WAY:
        on_the_way(draw, packets, at, kind)
    elif kind == "stream":
        packets[at] = dataclasses.replace(packet, stream_id=draw(st.integers(0, 2**63 - 1)))
    elif kind == "flag":
        packets[at] = dataclasses.replace(packet, keyframe=not packet.keyframe)


@st.composite
def inputs(draw) -> tuple[str, Stream, list[VideoPacket]]:
    """(the decoder's codec, the stream as the camera coded it, the packets as received)."""
    stream = draw(st.sampled_from(streams()))
    codec = draw(st.sampled_from((stream.codec,) * 4 + VIDEO_CODECS))
    packets = list(stream.packets)
    for _ in range(draw(st.integers(1, 3))):
        _damage(draw, packets)
    return codec, stream, packets


def check(example: tuple[str, Stream, list[VideoPacket]]) -> None:
    """Feed the packets in order; each decodes to the declared shape, drops or raises."""
    codec, stream, packets = example
    height, width, channels = stream.shape
    decoder = VideoStreamDecoder(codec, channels, limits=LIMITS)
    for packet in packets:
        stuck = decoder.waiting
        try:
            outcome = decoder.decode(packet, shape=(height, width))
        except CorruptBitstreamError:
            assert decoder.waiting
            continue
        assert isinstance(outcome, DecodeOutcome)
        if outcome.image is None:
            assert outcome.dropped is not None and decoder.waiting
            assert not packet.keyframe
            continue
        assert packet.keyframe or not stuck, "a non-keyframe decoded while waiting"
        assert outcome.image.dtype.name == "uint8"
        assert outcome.image.shape == ((height, width) if channels == 1 else stream.shape)


def _setup() -> None:
    """Code the corpus and decode each stream once (decoders' tables initialised)."""
    for stream in streams():
        check((stream.codec, stream, list(stream.packets)))


TARGET = Target(
    name="video", inputs=inputs, check=check, setup=_setup, memory_mib=1024, timeout_s=30.0
)
