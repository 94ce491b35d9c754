"""Stage 1 of a video view: the frame its stream decoded at receive, fused by si-std2."""

from __future__ import annotations

import av
import numpy as np
import pytest

from pipeline.codec import DecodeRequest, Role
from pipeline.codec.bitstream.container import parse
from pipeline.codec.bitstream.errors import CorruptBitstreamError
from pipeline.codec.video import VideoSettings, VideoStreamDecoder
from pipeline.codec.video.camera import VideoCameraEncoder, packet_of
from pipeline.codec.weights import VIDEO_SI_WEIGHTS
from tests.conftest import natural_image


def coded(image: np.ndarray, role: Role) -> tuple[bytes, np.ndarray]:
    """A keyframe's container of ``image`` and the frame its stream decodes to."""
    encoder = VideoCameraEncoder(VideoSettings(codec="h264", crf=30))
    data = encoder.encode(image, role)
    packet = packet_of(encoder.stream, parse(data).strings[0])
    return data, VideoStreamDecoder("h264", 3 if image.ndim == 3 else 1).decode(packet).image


@pytest.fixture(scope="module")
def pair() -> dict[str, tuple[bytes, np.ndarray]]:
    scene = natural_image(64, 96 + 8, 3, seed=3)
    return {"left": coded(scene[:, 8:], Role.PRIMARY), "right": coded(scene[:, :-8], Role.SIDE)}


def test_a_video_pair_decodes_from_its_frames_with_the_video_si_net(decoder, pair, monkeypatch):
    (left, left_pixels), (right, right_pixels) = pair["left"], pair["right"]
    request = DecodeRequest(left, right, primary_pixels=left_pixels, side_pixels=right_pixels)

    def no_second_decode(*args, **kwargs):
        raise AssertionError("stage 1 decoded a video packet again")

    monkeypatch.setattr(av.CodecContext, "create", no_second_decode)
    views = decoder.entropy_decode([request]).items[0]
    assert [(v.entry.name, v.codec) for v in views] == [(VIDEO_SI_WEIGHTS, "h264")] * 2
    result = decoder.decode_batch([request]).pairs[0]
    np.testing.assert_array_equal(result.left_alone, left_pixels)
    np.testing.assert_array_equal(result.right, right_pixels)
    assert result.left.shape == left_pixels.shape
    assert not np.array_equal(result.left, left_pixels)  # the SI-Net changed it


def test_a_video_view_without_its_frame_or_with_another_size_is_refused(decoder, pair):
    data, pixels = pair["left"]
    with pytest.raises(CorruptBitstreamError, match="decoded at receive"):
        decoder.decode_batch([DecodeRequest(data)])
    with pytest.raises(CorruptBitstreamError, match="its container declares"):
        decoder.decode_batch([DecodeRequest(data, primary_pixels=pixels[:, :-2])])
