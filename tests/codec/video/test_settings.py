"""Video settings check themselves and name the field at fault, directly and from TOML."""

from __future__ import annotations

import pytest

from pipeline.codec.video import VideoSettings
from pipeline.config import ConfigError, parse_config


def test_keyframe_interval_in_frames_and_the_codecs_default_quality():
    assert VideoSettings(fps=20, keyframe_interval_s=1.5).keyframe_interval == 30
    assert VideoSettings(fps=10, keyframe_interval_s=0.01).keyframe_interval == 1
    assert VideoSettings(codec="hevc").quality == 30
    assert VideoSettings(codec="av1", crf=55).quality == 55


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"codec": "vp9"}, "codec"),
        ({"encoder": " "}, "encoder"),
        ({"fps": 0}, "fps"),
        ({"fps": float("nan")}, "fps"),
        ({"keyframe_interval_s": -1.0}, "keyframe_interval_s"),
        ({"crf": 52}, "crf"),  # h264's scale ends at 51
        ({"codec": "av1", "crf": 0}, "crf"),  # AV1's starts at 1
        ({"crf": 20, "target_kbps": 500}, "crf"),
        ({"target_kbps": 0}, "target_kbps"),
        ({"threads": 0}, "threads"),
        ({"threads": True}, "threads"),
    ],
)
def test_a_bad_value_names_its_field(changes, field):
    with pytest.raises(ValueError, match=rf"^{field}: "):
        VideoSettings(**changes)


def test_a_toml_table_parses_and_a_bad_one_names_the_key():
    table = {"codec": "av1", "crf": 45, "keyframe_interval_s": 2, "fps": 15}
    assert parse_config(table, VideoSettings) == VideoSettings(
        codec="av1", crf=45, keyframe_interval_s=2.0, fps=15.0
    )
    with pytest.raises(ConfigError, match=r"^video\.crf: must be <= 63"):
        parse_config({"crf": 99}, VideoSettings, key="video")
    with pytest.raises(ConfigError, match=r"crf: must be an integer in 0\.\.51 for h264"):
        parse_config({"crf": 60}, VideoSettings, key="video")
