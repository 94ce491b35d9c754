"""Fuzz target ``receive``: the decoder's receive stage on hostile video messages.

The receive thread parses each message's wire header and container, checks one against the
other, and decodes a video frame in its stream (FFmpeg in the daemon's process:
``decoder_node/streams.py``). Contract (``docs/protocol.md``, ``docs/video.md``):
``Receiver.handle`` returns for every message; per rig and side, frames received = frames
handed to the pairer + frames dropped (any reason); every frame handed on from a version 2
message carries uint8 pixels of its header's shape and channels, and no version 1 frame does.
Inputs: six messages of a real H.264 stream (colour 48x64, or grey), one to three of them
damaged: the packet's bytes mutated inside a valid container (its CRC fits), the container's
bytes mutated, a ``stream`` field replaced (codec, id, packet counter, keyframe flag), the
header's size, channels, model id or quality replaced, the version set to 1 without a stream,
the message dropped, duplicated or swapped.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from functools import cache

import msgpack
import zmq
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from decoder_node.config import PairingConfig, ReceiverConfig
from decoder_node.frames import ReceivedFrame
from decoder_node.metrics import DROP_REASONS, FrameDrops
from decoder_node.pairing import Pairer
from decoder_node.receiver import Receiver
from pipeline.codec.bitstream.container import container, parse
from pipeline.codec.bitstream.errors import BitstreamError
from pipeline.codec.bitstream.limits import ImageLimits
from pipeline.codec.weights import VIDEO_MODELS
from pipeline.wire import PROTOCOL_VERSION, STREAM_CODECS
from tests.decoder_node.video_camera import VideoCamera, VideoMessage
from tests.fuzz.mutate import ON_THE_WAY, mutated, on_the_way
from tests.fuzz.target import Target
from tests.fuzz.video import TOKENS
from tests.wire.headers import as_map

PACKETS = 6
DAMAGE = ("packet", "packet", "container", "stream", "header", "v1", "drop", "duplicate", "swap")
MODEL_IDS = (*VIDEO_MODELS, "jpeg-si1", "dsin-s1")
LIMITS = ImageLimits(max_width=256, max_height=256, max_pixels=256 * 256)


@cache
def streams() -> tuple[tuple[VideoMessage, ...], ...]:
    """The corpus: a colour and a grey camera's first messages (keyframes at 0 and 4)."""
    return tuple(tuple(VideoCamera(channels=c).take(PACKETS)) for c in (3, 1))


@cache
def context() -> zmq.Context:
    """One context for every example's receiver (no socket is opened)."""
    return zmq.Context()


def _packet(draw, message: VideoMessage) -> VideoMessage:
    try:
        parsed = parse(message.payload)
    except BitstreamError:  # damaged already: left as it is
        return message
    h = parsed.header
    data = draw(mutated(st.just(parsed.strings[0]), TOKENS))
    payload = container(message.image, h.model_id, h.weights_hash, h.quality, h.role, (data,))
    return message.with_payload(payload)


def _stream(draw, message: VideoMessage) -> VideoMessage:
    stream = message.header.stream
    assert stream is not None
    field = draw(st.sampled_from(("codec", "id", "packet", "keyframe")))
    value = {
        "codec": st.sampled_from(STREAM_CODECS),
        "id": st.integers(0, 2**63 - 1),
        "packet": st.one_of(st.integers(0, 2 * PACKETS), st.integers(0, 2**63 - 1)),
        "keyframe": st.booleans(),
    }[field]
    changed = dataclasses.replace(stream, **{field: draw(value)})
    return dataclasses.replace(message, header=dataclasses.replace(message.header, stream=changed))


def _header(draw, message: VideoMessage) -> VideoMessage:
    field = draw(st.sampled_from(("height", "width", "channels", "model_id", "quality")))
    value = {
        "height": st.integers(1, 300),
        "width": st.integers(1, 300),
        "channels": st.sampled_from((1, 3)),
        "model_id": st.sampled_from(MODEL_IDS),
        "quality": st.integers(0, 255),
    }[field]
    header = dataclasses.replace(message.header, **{field: draw(value)})
    return dataclasses.replace(message, header=header)


def _damage(draw, messages: list[VideoMessage]) -> None:
    at = draw(st.integers(0, len(messages) - 1))
    message = messages[at]
    kind = draw(st.sampled_from(DAMAGE))
    if kind == "packet":
        messages[at] = _packet(draw, message)
    elif kind == "container":
        messages[at] = message.with_payload(draw(mutated(st.just(message.payload), TOKENS)))
    elif kind == "stream" and message.header.stream is not None:
        messages[at] = _stream(draw, message)
    elif kind == "header":
        messages[at] = _header(draw, message)
    elif kind == "v1":
        v1 = dataclasses.replace(message.header, version=PROTOCOL_VERSION, stream=None)
        messages[at] = dataclasses.replace(message, header=v1)
    elif kind in ON_THE_WAY:
        on_the_way(draw, messages, at, kind)


@st.composite
def inputs(draw) -> list[VideoMessage]:
    """The messages as the receiver gets them."""
    messages = list(draw(st.sampled_from(streams())))
    for _ in range(draw(st.integers(1, 3))):
        _damage(draw, messages)
    return messages


class _Recorder(Pairer):
    """A pairer that keeps every frame handed to it, and pairs nothing."""

    def __init__(self, drops: FrameDrops, registry: CollectorRegistry) -> None:
        super().__init__(PairingConfig(mode="sequence"), drops, registry)
        self.frames: list[ReceivedFrame] = []

    def add(self, frame: ReceivedFrame, now: float) -> list:
        self.frames.append(frame)
        return []


def check(messages: list[VideoMessage]) -> None:
    """Every message through ``Receiver.handle``; then the accounting and the pixels."""
    registry = CollectorRegistry()
    drops = FrameDrops(registry)
    recorder = _Recorder(drops, registry)
    cfg = ReceiverConfig(bind="tcp://127.0.0.1:*")
    receiver = Receiver(cfg, recorder, lambda item: None, drops, registry, context(), LIMITS)
    for message in messages:
        header = msgpack.packb(as_map(message.header), use_bin_type=True)
        receiver.handle([header, message.payload], 0, 0.0)  # an empty payload too
    handed = Counter(frame.key for frame in recorder.frames)
    value = registry.get_sample_value
    for rig, side in {(m.header.rig_id, m.header.side) for m in messages}:
        view = {"rig": rig, "side": side}
        received = value("stereo_decoder_frames_received_total", view) or 0
        dropped = sum(
            value("stereo_decoder_frames_dropped_total", {**view, "reason": reason}) or 0
            for reason in DROP_REASONS
        )
        assert received == handed[(rig, side)] + dropped, (received, handed, dropped)
    for frame in recorder.frames:
        if frame.header.stream is None:
            assert frame.pixels is None
            continue
        h = frame.header
        assert frame.pixels is not None and frame.pixels.dtype.name == "uint8"
        assert frame.pixels.shape == ((h.height, h.width) if h.channels == 1 else frame.shape)


def _setup() -> None:
    """Code the corpus and receive each stream once (decoders' tables initialised)."""
    for stream in streams():
        check(list(stream))


TARGET = Target(
    name="receive", inputs=inputs, check=check, setup=_setup, memory_mib=1024, timeout_s=30.0
)
