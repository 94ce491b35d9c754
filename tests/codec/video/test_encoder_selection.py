"""``encoder = "auto"``: the first hardware encoder that works, else the software one.

This machine has no NVENC, Quick Sync or v4l2m2m device, so the real hardware profiles fail to
open here (the fallback); a software encoder listed as hardware stands in for one that opens
(the choice). Both go through the same probe: open, then one frame in, one keyframe out.
"""

from __future__ import annotations

import dataclasses

import pytest

from pipeline.codec.video import (
    EncoderUnavailableError,
    VideoEncoder,
    VideoSettings,
    VideoStreamDecoder,
    profiles,
    select_encoder,
)
from tests.codec.video.streams import HEIGHT, WIDTH, moving_frames


def test_auto_falls_back_to_software_when_no_hardware_encoder_opens():
    selection = select_encoder(VideoSettings(codec="h264"), WIDTH, HEIGHT, 1)
    assert selection.profile.name == "libx264"
    tried = [name for name, _ in selection.refused]
    assert tried == ["h264_v4l2m2m", "h264_nvenc", "h264_qsv"]
    assert all(reason for _, reason in selection.refused)


def test_auto_takes_the_first_hardware_encoder_that_opens(monkeypatch):
    stand_in = dataclasses.replace(profiles.SOFTWARE_ENCODERS["h264"], hardware=True)
    failing = profiles.HARDWARE_ENCODERS["h264"][1]  # h264_nvenc: no GPU here
    monkeypatch.setitem(profiles.HARDWARE_ENCODERS, "h264", (failing, stand_in))
    with VideoEncoder(VideoSettings(codec="h264"), WIDTH, HEIGHT, 1) as encoder:
        assert encoder.profile is stand_in and encoder.profile.hardware
        assert [name for name, _ in encoder.refused] == ["h264_nvenc"]
        packet = encoder.encode(moving_frames(1)[0])
    assert VideoStreamDecoder("h264", 1).decode(packet).image.shape == (HEIGHT, WIDTH)


def test_an_encoder_that_holds_frames_back_is_passed_over(monkeypatch):
    """libx264 with its look-ahead on codes nothing for the first frame: not a camera's."""

    def with_lookahead(settings):
        return {"preset": "veryfast", "crf": "28"}

    buffering = dataclasses.replace(
        profiles.SOFTWARE_ENCODERS["h264"], hardware=True, options=with_lookahead
    )
    monkeypatch.setitem(profiles.HARDWARE_ENCODERS, "h264", (buffering,))
    selection = select_encoder(VideoSettings(codec="h264", threads=1), WIDTH, HEIGHT, 1)
    assert selection.profile.name == "libx264" and not selection.profile.hardware
    assert selection.refused == (
        ("libx264", "coded the probe frame into 0 packets, not one keyframe"),
    )


def test_a_named_encoder_is_used_or_refused_clearly():
    settings = VideoSettings(codec="hevc", encoder="libx265")
    assert select_encoder(settings, WIDTH, HEIGHT, 3).profile.name == "libx265"
    with pytest.raises(EncoderUnavailableError, match="h264_nvenc"):
        select_encoder(VideoSettings(encoder="h264_nvenc"), WIDTH, HEIGHT, 1)
    with pytest.raises(ValueError, match=r"^encoder: 'libx264' is not a hevc encoder"):
        select_encoder(VideoSettings(codec="hevc", encoder="libx264"), WIDTH, HEIGHT, 1)


@pytest.mark.parametrize("codec", ["h264", "hevc", "av1"])
def test_every_codec_has_a_software_encoder_in_this_build(codec):
    selection = select_encoder(VideoSettings(codec=codec), WIDTH, HEIGHT, 3)
    assert not selection.profile.hardware
    assert (
        selection.profile.name == {"h264": "libx264", "hevc": "libx265", "av1": "libsvtav1"}[codec]
    )
