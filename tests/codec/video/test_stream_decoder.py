"""The per-stream decoder: gaps and new streams wait for a keyframe, corrupt packets raise the
codec's error and recover at the next keyframe, sizes are checked against the limits."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pipeline.codec.bitstream.errors import CorruptBitstreamError, ImageTooLargeError
from pipeline.codec.bitstream.limits import ImageLimits
from pipeline.codec.video import VIDEO_CODECS, DropReason, VideoSettings, VideoStreamDecoder
from tests.codec.video.streams import HEIGHT, WIDTH, encode_stream, moving_frames

#: A keyframe every 5 frames at 10 fps.
SETTINGS = {codec: VideoSettings(codec=codec, keyframe_interval_s=0.5) for codec in VIDEO_CODECS}


def _outcomes(decoder: VideoStreamDecoder, packets) -> list[str]:
    """What became of each packet: "ok", a drop reason, or "corrupt"."""
    out = []
    for packet in packets:
        try:
            outcome = decoder.decode(packet)
        except CorruptBitstreamError:
            out.append("corrupt")
            continue
        out.append("ok" if outcome.image is not None else str(outcome.dropped))
    return out


@pytest.fixture(scope="module", params=VIDEO_CODECS)
def stream(request):
    """(codec, 12 packets of one grey stream with keyframes at 0, 5 and 10)."""
    return request.param, encode_stream(SETTINGS[request.param], moving_frames(12))


def test_a_lost_packet_drops_the_frames_up_to_the_next_keyframe(stream):
    codec, packets = stream
    decoder = VideoStreamDecoder(codec, 1)
    received = packets[:2] + packets[3:]  # index 2 lost
    assert _outcomes(decoder, received) == (
        ["ok", "ok", "stream_gap", "waiting_keyframe", "ok", "ok", "ok", "ok", "ok", "ok", "ok"]
    )


def test_a_new_stream_starts_at_its_keyframe_and_a_join_waits_for_one(stream):
    codec, packets = stream
    restarted = [dataclasses.replace(p, stream_id=8) for p in packets]
    decoder = VideoStreamDecoder(codec, 1)
    # joining mid-stream: nothing was lost on our side, so the reason is waiting_keyframe
    assert _outcomes(decoder, packets[3:7]) == ["waiting_keyframe"] * 2 + ["ok", "ok"]
    # the camera restarts (a new stream id) and its first packets are lost: a gap
    assert _outcomes(decoder, restarted[2:6]) == ["stream_gap"] + ["waiting_keyframe"] * 2 + ["ok"]
    assert decoder.stream_id == 8
    # a new stream whose keyframe arrives decodes at once
    again = [dataclasses.replace(p, stream_id=9) for p in packets[:3]]
    assert _outcomes(decoder, again) == ["ok"] * 3


DAMAGE = {
    "noise": lambda data: bytes(np.random.default_rng(0).integers(0, 256, 200, dtype=np.uint8)),
    "zeros": lambda data: b"\x00" * 64,
    "empty": lambda data: b"",
    "truncated": lambda data: data[: len(data) // 3],
}


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("at", [0, 3], ids=["keyframe", "inter"])
def test_a_corrupt_packet_raises_and_the_stream_recovers_at_the_next_keyframe(stream, damage, at):
    """H.264 and HEVC conceal a truncated inter frame (it decodes, with artefacts, and so do
    the frames after it): the wire's checksum, not the codec, catches damage like that."""
    codec, packets = stream
    received = list(packets)
    received[at] = dataclasses.replace(packets[at], data=DAMAGE[damage](packets[at].data))
    outcomes = _outcomes(VideoStreamDecoder(codec, 1), received)
    assert outcomes[:at] == ["ok"] * at
    if damage == "truncated" and at == 3 and codec != "av1":
        assert outcomes == ["ok"] * 12
        return
    assert outcomes[at] == "corrupt"
    assert outcomes[at + 1 : 5] == ["waiting_keyframe"] * (4 - at)
    assert outcomes[5:] == ["ok"] * 7


def test_an_hevc_parameter_set_ffmpeg_refuses_with_eperm_is_a_corrupt_packet():
    """Found by the fuzz target: three zero bytes spliced into the SPS's first bytes make
    FFmpeg's HEVC decoder return EPERM, which PyAV raises as ``av.error.PermissionError``."""
    packets = encode_stream(SETTINGS["hevc"], moving_frames(6))
    data = packets[0].data
    at = data.index(b"\x00\x00\x00\x01\x42\x01") + 6  # the SPS NAL, after its header
    spliced = data[:at] + b"\x00\x00\x00" + data[at : at + 1] + data[at + 4 :]
    received = [dataclasses.replace(packets[0], data=spliced), *packets[1:]]
    outcomes = _outcomes(VideoStreamDecoder("hevc", 1), received)
    assert outcomes == ["corrupt"] + ["waiting_keyframe"] * 4 + ["ok"]


def test_decoded_sizes_are_checked_against_the_limits_and_the_declared_shape(stream):
    codec, packets = stream
    small = ImageLimits(max_width=WIDTH, max_height=HEIGHT - 2)
    with pytest.raises(ImageTooLargeError, match="exceeds the limit"):
        VideoStreamDecoder(codec, 1, limits=small).decode(packets[0])
    # FFmpeg's own max_pixels refuses the frame before it is allocated
    few = ImageLimits(max_pixels=HEIGHT * WIDTH - 1)
    with pytest.raises(CorruptBitstreamError):
        VideoStreamDecoder(codec, 1, limits=few).decode(packets[0])
    decoder = VideoStreamDecoder(codec, 1)
    with pytest.raises(CorruptBitstreamError, match=f"the stream declares {HEIGHT}x{WIDTH + 2}"):
        decoder.decode(packets[0], shape=(HEIGHT, WIDTH + 2))
    assert decoder.waiting
    exact = VideoStreamDecoder(codec, 1, limits=ImageLimits(WIDTH, HEIGHT, HEIGHT * WIDTH))
    assert exact.decode(packets[0], shape=(HEIGHT, WIDTH)).image.shape == (HEIGHT, WIDTH)


def test_nvdec_is_tried_first_where_asked_and_the_cpu_decodes_without_it(stream):
    """No NVIDIA GPU here: ``h264_cuvid`` and its kin fail to open, the CPU decoder takes over."""
    codec, packets = stream
    decoder = VideoStreamDecoder(codec, 1, hardware=True)
    assert decoder.decode(packets[0]).image is not None
    assert decoder.name == {"h264": "h264", "hevc": "hevc", "av1": "libdav1d"}[codec]


def test_drop_reasons_are_the_metric_label_values():
    assert [r.value for r in DropReason] == ["stream_gap", "waiting_keyframe"]
