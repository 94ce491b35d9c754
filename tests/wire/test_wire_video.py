"""A video stream through protocol version 2: a keyframe message is self-contained, so a
decoder that starts at one (a restart, a shard move, a late join) decodes from there on."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.codec.video import (
    VIDEO_CODECS,
    VideoPacket,
    VideoSettings,
    VideoStreamDecoder,
)
from pipeline.wire import StreamInfo, decode_frame, encode_frame, version_for
from tests.codec.video.streams import encode_stream, moving_frames
from tests.wire.headers import make_header

FRAMES = 12
KEYFRAMES = (0, 5, 10)
"""A keyframe every 5 frames (0.5 s at 10 fps)."""


def messages(codec: str) -> list[list]:
    """The v2 messages a camera sends for ``FRAMES`` grey frames of one ``codec`` stream."""
    settings = VideoSettings(codec=codec, keyframe_interval_s=0.5, fps=10.0)
    frames = moving_frames(FRAMES)
    height, width = frames[0].shape
    out = []
    for seq, packet in enumerate(encode_stream(settings, frames, stream_id=2**62 + 3)):
        stream = StreamInfo(codec, packet.stream_id, packet.index, packet.keyframe)
        header = make_header(
            version=version_for(stream),
            seq=seq,
            model_id=f"{codec}-si1",
            quality=28,
            height=height,
            width=width,
            channels=1,
            stream=stream,
        )
        out.append(encode_frame(header, packet.data))
    return out


def received(parts: list) -> tuple[VideoPacket, tuple[int, int]]:
    """What a decoder rebuilds from one message: the packet and the declared shape."""
    header, payload = decode_frame(parts)
    s = header.stream
    return VideoPacket(s.id, s.packet, s.keyframe, s.packet, payload), (header.height, header.width)


def decode_all(codec: str, sent: list[list]) -> list[np.ndarray | str]:
    decoder = VideoStreamDecoder(codec, 1)
    out: list[np.ndarray | str] = []
    for parts in sent:
        outcome = decoder.decode(*received(parts))
        out.append(outcome.image if outcome.image is not None else str(outcome.dropped))
    return out


@pytest.mark.parametrize("codec", VIDEO_CODECS)
def test_a_fresh_decoder_joins_at_a_keyframe_message(codec: str) -> None:
    sent = messages(codec)
    assert [i for i, parts in enumerate(sent) if received(parts)[0].keyframe] == list(KEYFRAMES)
    from_start = decode_all(codec, sent)
    assert all(isinstance(image, np.ndarray) for image in from_start)
    joined = decode_all(codec, sent[3:])  # joins at packet 3: waits for the keyframe at 5
    assert joined[:2] == ["waiting_keyframe"] * 2
    for got, want in zip(joined[2:], from_start[5:], strict=True):
        np.testing.assert_array_equal(got, want)
