"""The pass-through source: a real coded file's packets come out unchanged, never decoded.

Files are made by the test with PyAV (:mod:`tests.camera_nodes.coded_files`). The payload
check is independent of FFmpeg's bitstream filter: an MP4 packet's NAL units are read by
their length prefixes and its ``avcC`` parameter sets by hand, and every source packet must be
those NAL units in Annex B with the parameter sets (on keyframes) and nothing else.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from camera_nodes.config import PassthroughSourceConfig
from camera_nodes.sources import CapturedPacket, EndOfStream, PassthroughSource, SourceError
from camera_nodes.sources.annexb import has_parameter_sets, is_annexb, nal_types, parameter_sets
from pipeline.codec.video import VideoStreamDecoder
from pipeline.config import ConfigError, load_config
from tests.camera_nodes.coded_files import (
    FPS,
    FRAMES,
    GOP,
    WITH_B_FRAMES,
    demuxed,
    direct_decode,
    write_stream,
)

T0 = 1_700_000_000_000_000_000
FRAME_NS = 1_000_000_000 // FPS


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("coded")
    return {
        "mp4": write_stream(folder / "cam.mp4"),
        "h264": write_stream(folder / "cam.h264"),
    }


def _read_all(config: PassthroughSourceConfig, **kwargs) -> list[CapturedPacket]:
    with PassthroughSource(config, **kwargs) as source:
        packets = []
        with pytest.raises(EndOfStream):
            while True:
                packets.append(source.read())
    return packets


def _config(path: Path, **fields) -> PassthroughSourceConfig:
    return PassthroughSourceConfig(url=str(path), realtime=False, **fields)


def _annexb_units(data: bytes) -> list[bytes]:
    """The NAL units of an Annex B byte string (no NAL unit ends in a zero byte)."""
    parts = re.split(b"\x00\x00\x01", data)
    assert parts[0].strip(b"\x00") == b"", "Annex B data starts with a start code"
    return [part.rstrip(b"\x00") for part in parts[1:]]


def _length_prefixed_units(data: bytes, size: int = 4) -> list[bytes]:
    units, at = [], 0
    while at < len(data):
        length = int.from_bytes(data[at : at + size], "big")
        units.append(data[at + size : at + size + length])
        at += size + length
    assert at == len(data)
    return units


def _avcc_parameter_sets(extradata: bytes) -> list[bytes]:
    """The SPS and PPS of an ``avcC`` box (ISO 14496-15)."""
    assert extradata[0] == 1 and extradata[4] & 3 == 3, "avcC with 4-byte lengths"
    sets, at = [], 6
    for _ in range(extradata[5] & 0x1F):
        length = int.from_bytes(extradata[at : at + 2], "big")
        sets.append(extradata[at + 2 : at + 2 + length])
        at += 2 + length
    for _ in range(extradata[at]):
        length = int.from_bytes(extradata[at + 1 : at + 3], "big")
        sets.append(extradata[at + 3 : at + 3 + length])
        at += 2 + length
    return sets


def _decode(packets: list[CapturedPacket]) -> list[np.ndarray]:
    decoder = VideoStreamDecoder("h264", 3)
    outcomes = [decoder.decode(p.packet, (p.height, p.width)) for p in packets]
    assert all(o.dropped is None for o in outcomes)
    return [o.image for o in outcomes]


def test_mp4_packets_are_the_files_nal_units_with_the_parameter_sets_on_keyframes(files):
    extradata, stored = demuxed(files["mp4"])
    parameter_sets = _avcc_parameter_sets(extradata)
    packets = _read_all(_config(files["mp4"]))
    assert len(packets) == len(stored) == FRAMES
    for (keyframe, data), captured in zip(stored, packets, strict=True):
        units = _annexb_units(captured.packet.data)
        slices = [u for u in units if u not in parameter_sets]
        assert slices == _length_prefixed_units(data)
        assert captured.packet.keyframe == keyframe
        if keyframe:
            assert [u for u in units if u in parameter_sets] == parameter_sets
    assert [p.packet.keyframe for p in packets] == [i % GOP == 0 for i in range(FRAMES)]
    assert [p.packet.index for p in packets] == list(range(FRAMES))
    assert len({p.packet.stream_id for p in packets}) == 1


def test_annexb_packets_pass_byte_for_byte(files):
    _, stored = demuxed(files["h264"])
    packets = _read_all(_config(files["h264"], fps=FPS))
    assert [(p.packet.keyframe, p.packet.data) for p in packets] == stored
    assert len(packets) == FRAMES


@pytest.mark.parametrize("kind", ["mp4", "h264"])
def test_stream_time_maps_to_the_camera_clock_from_the_first_packet(files, kind):
    packets = _read_all(_config(files[kind], fps=FPS), clock=lambda: T0)
    assert [p.capture_ns for p in packets] == [T0 + i * FRAME_NS for i in range(FRAMES)]


@pytest.mark.parametrize("kind", ["mp4", "h264"])
def test_nothing_is_decoded_or_encoded(files, kind, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the pass-through source opened a codec")

    for cls in (av.codec.context.CodecContext, av.video.codeccontext.VideoCodecContext):
        for name in ("decode", "encode", "open", "parse"):
            monkeypatch.setattr(cls, name, refuse, raising=False)
    monkeypatch.setattr(av.CodecContext, "create", refuse)
    with PassthroughSource(_config(files[kind])) as source:
        packets = [source.read() for _ in range(FRAMES)]
        assert not source._stream.codec_context.is_open
    assert len(packets) == FRAMES


@pytest.mark.parametrize("kind", ["mp4", "h264"])
def test_decoded_packets_equal_a_direct_decode_of_the_file(files, kind):
    expected = direct_decode(files[kind])
    images = _decode(_read_all(_config(files[kind])))
    assert len(images) == len(expected) == FRAMES
    for image, reference in zip(images, expected, strict=True):
        np.testing.assert_array_equal(image, reference)


@pytest.mark.parametrize("kind", ["mp4", "h264"])
def test_a_decoder_joins_at_a_later_keyframe(files, kind):
    packets = _read_all(_config(files[kind]))
    images = _decode(packets[GOP:])
    expected = direct_decode(files[kind])[GOP:]
    assert all(np.array_equal(a, b) for a, b in zip(images, expected, strict=True))


def test_annexb_keyframes_without_parameter_sets_get_the_streams(files, tmp_path):
    """A camera that sends SPS/PPS once (or out of band): later keyframes get them put back."""
    _, stored = demuxed(files["h264"])
    stripped = []
    for i, (keyframe, data) in enumerate(stored):
        units = _annexb_units(data)
        if keyframe and i:
            units = [u for u in units if u[0] & 0x1F not in (7, 8)]
        stripped.append(b"".join(b"\x00\x00\x00\x01" + u for u in units))
    path = tmp_path / "once.h264"
    path.write_bytes(b"".join(stripped))
    packets = _read_all(_config(path))
    assert [p.packet.data for p in packets if not p.packet.keyframe] == [
        d for (k, _), d in zip(stored, stripped, strict=True) if not k
    ]
    second = packets[GOP].packet.data
    assert second != stripped[GOP] and second.endswith(stripped[GOP])
    images = _decode(packets[GOP:])
    expected = direct_decode(files["h264"])[GOP:]
    assert all(np.array_equal(a, b) for a, b in zip(images, expected, strict=True))


def test_parameter_sets_are_found_without_decoding(files):
    extradata, stored = demuxed(files["h264"])
    keyframe, first = stored[0]
    assert keyframe and has_parameter_sets("h264", first)
    assert not has_parameter_sets("h264", stored[1][1])
    sets = parameter_sets("h264", first)
    assert _annexb_units(sets) == [u for u in _annexb_units(first) if u[0] & 0x1F in (7, 8)]
    assert _annexb_units(sets) == _annexb_units(extradata)
    assert nal_types("h264", first)[-1] == 5  # up to the IDR slice
    assert parameter_sets("hevc", b"") == b"" and not is_annexb(demuxed(files["mp4"])[0])


def test_a_stream_joined_mid_gop_starts_at_its_first_keyframe(files, tmp_path):
    _, stored = demuxed(files["h264"])
    path = tmp_path / "joined.h264"
    path.write_bytes(b"".join(data for _, data in stored[3:]))
    with PassthroughSource(_config(path)) as source:
        first = source.read()
        assert source.skipped == GOP - 3
    assert first.packet.keyframe and first.packet.index == 0
    assert first.packet.data == stored[GOP][1]


def test_a_packet_lost_in_the_source_leaves_an_index_gap_the_decoder_waits_out(files, monkeypatch):
    filter_ = av.bitstream.BitStreamFilterContext.filter
    calls = []

    def refuse_the_fifth(self, packet=None):
        calls.append(packet)
        if len(calls) == 5:
            raise av.error.InvalidDataError(1094995529, "Invalid data found")
        return filter_(self, packet)

    monkeypatch.setattr(av.bitstream.BitStreamFilterContext, "filter", refuse_the_fifth)
    with PassthroughSource(_config(files["mp4"])) as source:
        packets = [source.read() for _ in range(4)]
        with pytest.raises(SourceError, match="refuses a packet"):
            source.read()
        packets += [source.read() for _ in range(FRAMES - 5)]
    assert [p.packet.index for p in packets] == [0, 1, 2, 3, *range(5, FRAMES)]
    decoder = VideoStreamDecoder("h264", 3)
    outcomes = [decoder.decode(p.packet) for p in packets]
    assert [o.dropped for o in outcomes[4 : GOP - 1]] == ["stream_gap"] + ["waiting_keyframe"] * 4
    expected = direct_decode(files["mp4"])
    images = [o.image for o in outcomes[:4] + outcomes[GOP - 1 :]]
    assert all(
        np.array_equal(a, b) for a, b in zip(images, expected[:4] + expected[GOP:], strict=True)
    )


def test_b_frames_are_refused_naming_the_fix(tmp_path):
    path = write_stream(tmp_path / "b.mp4", options=WITH_B_FRAMES)
    with pytest.raises(SourceError, match=r"B-frames.*zero latency"):
        PassthroughSource(_config(path)).connect()


def test_b_frames_the_stream_does_not_declare_are_refused_on_read(tmp_path, monkeypatch):
    """A camera whose SPS does not declare its reorder delay: the first pts that goes back."""
    path = write_stream(tmp_path / "b.mp4", options=WITH_B_FRAMES)
    monkeypatch.setattr(av.video.codeccontext.VideoCodecContext, "has_b_frames", False)
    with PassthroughSource(_config(path)) as source:
        assert source.read().packet.keyframe
        with pytest.raises(SourceError, match=r"B-frames \(pts 1024 after 3072\)"):
            source.read()
            source.read()


def test_open_errors_name_the_problem(files, tmp_path):
    with pytest.raises(SourceError, match="cannot open"):
        PassthroughSource(_config(tmp_path / "missing.mp4")).connect()
    with pytest.raises(SourceError, match="is h264, not hevc"):
        PassthroughSource(_config(files["mp4"], codec="hevc")).connect()
    with pytest.raises(SourceError, match="before connect"):
        PassthroughSource(_config(files["mp4"])).read()


def test_realtime_paces_a_file_at_its_rate_and_resyncs_after_a_stall(files):
    now = [T0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += round(seconds * 1e9)

    config = PassthroughSourceConfig(url=str(files["mp4"]), resync_s=1.0)
    with PassthroughSource(config, clock=lambda: now[0], sleep=sleep) as source:
        times = [source.read().capture_ns for _ in range(3)]
        now[0] += 5_000_000_000  # the reader stalls for five seconds
        late = source.read().capture_ns
        after = source.read().capture_ns
    assert times == [T0, T0 + FRAME_NS, T0 + 2 * FRAME_NS]
    assert sleeps == pytest.approx([0.1, 0.1, 0.1])
    assert late == T0 + 2 * FRAME_NS + 5_000_000_000
    assert after == late + FRAME_NS


def test_a_live_stream_is_never_held_back_and_anchors_at_its_least_delayed_packet(
    files, monkeypatch
):
    monkeypatch.setattr(PassthroughSource, "_is_file", False)
    arrivals_ms = iter([0, 150, 180, 5000, 5120])  # the packets' pts are 100 ms apart
    config = PassthroughSourceConfig(url=str(files["mp4"]), resync_s=1.0)
    clock = lambda: T0 + next(arrivals_ms) * 1_000_000  # noqa: E731
    with PassthroughSource(config, clock=clock, sleep=pytest.fail) as source:
        times_ms = [(source.read().capture_ns - T0) // 1_000_000 for _ in range(5)]
    # 0: the anchor; 1: 50 ms late, by its pts; 2: 20 ms early, the anchor moves to it;
    # 3: 4.72 s late, re-anchored; 4: 20 ms late, by its pts from there
    assert times_ms == [0, 100, 180, 5000, 5100]


def test_quality_and_bits_per_pixel(files):
    packets = _read_all(_config(files["mp4"], quality=23))
    assert {p.quality for p in packets} == {23}
    gop_bits = sum(len(p.packet.data) * 8 for p in packets[:GOP])
    assert packets[GOP].bpp == pytest.approx(gop_bits / (GOP * 128 * 96))
    assert packets[0].bpp == len(packets[0].packet.data) * 8 / (128 * 96)


def test_config_errors_name_the_key(tmp_path):
    path = tmp_path / "source.toml"
    path.write_text('url = "rtsp://cam/stream"\nquality = 60\n')
    with pytest.raises(ConfigError, match="quality"):
        load_config(path, PassthroughSourceConfig)
    path.write_text('url = "rtsp://cam/stream"\ncodec = "av1"\n')
    with pytest.raises(ConfigError, match="codec"):
        load_config(path, PassthroughSourceConfig)
    path.write_text('url = "rtsp://cam"\n[options]\nrtsp_transport = "tcp"\n')
    assert load_config(path, PassthroughSourceConfig).options == {"rtsp_transport": "tcp"}


def test_hevc_mp4_passes_through_and_decodes_like_the_file(tmp_path):
    path = write_stream(tmp_path / "cam.mp4", codec="hevc")
    packets = _read_all(_config(path, codec="hevc"))
    decoder = VideoStreamDecoder("hevc", 3)
    images = [decoder.decode(p.packet).image for p in packets[GOP:]]
    expected = direct_decode(path)[GOP:]
    assert len(images) == FRAMES - GOP
    assert all(np.array_equal(a, b) for a, b in zip(images, expected, strict=True))


TORCH_FREE = """
import sys
from tests.integration.without_torch import LearnedExtraBlocker
blocker = LearnedExtraBlocker()
sys.meta_path.insert(0, blocker)
from camera_nodes.config import PassthroughSourceConfig
from camera_nodes.sources.annexb import has_parameter_sets, is_annexb, nal_types, parameter_sets
from camera_nodes.sources import PassthroughSource
with PassthroughSource(PassthroughSourceConfig(url=sys.argv[1], realtime=False)) as source:
    assert source.read().packet.keyframe
print("attempts:", blocker.attempts)
"""


def test_the_source_runs_with_torch_unimportable(files):
    root = Path(__file__).resolve().parents[2]
    command = [sys.executable, "-c", TORCH_FREE, str(files["mp4"])]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "attempts: []"
