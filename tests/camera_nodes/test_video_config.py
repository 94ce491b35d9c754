"""A video camera's configuration: the ``[video]`` table, what a video codec refuses, the
pass-through source's codec, and the preflight of PyAV and the encoder (``docs/video.md``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from camera_nodes.config import CameraConfig
from camera_nodes.preflight import check_camera, video_encoder
from pipeline.codec.video.settings import DEFAULT_CRF
from pipeline.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[2]
HEAD = 'side = "left"\nmetrics_port = 0\n'
SYNTHETIC = '[source]\ntype = "synthetic"\nwidth = 64\nheight = 48\n'


def load(tmp_path: Path, text: str) -> CameraConfig:
    path = tmp_path / "camera.toml"
    path.write_text(HEAD + text)
    return load_config(path, CameraConfig)


def refused(tmp_path: Path, text: str) -> str:
    """The message of the ConfigError loading ``text`` raises."""
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    return str(caught.value)


def test_the_video_table_takes_the_cameras_codec_and_fps(tmp_path):
    cfg = load(tmp_path, 'codec = "hevc"\nfps = 20.0\n[video]\ncrf = 24\nkeyframe_interval_s = 2\n')
    settings = cfg.video_settings()
    assert (settings.codec, settings.fps, settings.crf) == ("hevc", 20.0, 24)
    assert settings.keyframe_interval == 40
    given_alike = load(tmp_path, 'codec = "av1"\nfps = 5.0\n[video]\ncodec = "av1"\nfps = 5\n')
    assert given_alike.video_settings().codec == "av1"


def test_a_video_camera_without_a_table_runs_the_codecs_defaults(tmp_path):
    settings = load(tmp_path, 'codec = "h264"\n').video_settings()
    assert (settings.encoder, settings.crf, settings.quality) == ("auto", None, DEFAULT_CRF["h264"])
    assert settings.keyframe_interval == 10  # 1 s at the camera's default 10 fps


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('codec = "h264"\nquality = 50\n', "camera.toml:4: quality: not for a video codec"),
        ('codec = "h264"\ntarget_kbps = 300.0\n', "target_kbps: not for a video codec"),
        ('codec = "jpeg"\n[video]\ncrf = 20\n', "camera.toml:4: video: a [video] table needs"),
        ('codec = "av1"\n[video]\ncodec = "h264"\n', "video.codec: 'h264' is not the camera's"),
        ('codec = "h264"\nfps = 20.0\n[video]\nfps = 10\n', "video.fps: 10.0 is not the camera"),
        (
            'codec = "av1"\n[video]\ncrf = 0\n',
            ":5: video.crf: must be an integer in 1..63",
        ),
        ('codec = "h264"\n[video]\ncrf = 70\n', "video.crf: must be <= 63"),
        ('codec = "h264"\n[video]\ncrf = 20\ntarget_kbps = 500\n', "video.crf: give crf or"),
        ('codec = "h264"\n[video]\nthreads = 0\n', "video.threads: must be >= 1"),
        ('codec = "h264"\n[video]\nkeyframe_interval_s = 0\n', "video.keyframe_interval_s:"),
        ('codec = "h264"\n[video]\nbframes = 2\n', "video.bframes: unknown key"),
        ('codec = "h264"\nfps = 0.0\n', "fps: a h264 camera needs a rate > 0"),
    ],
)
def test_every_problem_names_its_key(tmp_path, text, message):
    assert message in refused(tmp_path, text)


def test_the_camera_quality_keys_point_at_the_encoders_own(tmp_path):
    assert "set video.crf" in refused(tmp_path, 'codec = "hevc"\nquality = 70\n')
    assert "set video.target_kbps" in refused(tmp_path, 'codec = "av1"\ntarget_kbps = 9.0\n')


PASSTHROUGH = '[source]\ntype = "passthrough"\nurl = "cam.h264"\ncodec = "{}"\n'


def test_a_passthrough_source_needs_the_streams_codec_and_no_encoder_settings(tmp_path):
    cfg = load(tmp_path, 'codec = "h264"\nfps = 0.0\n' + PASSTHROUGH.format("h264"))
    assert cfg.passes_through and cfg.is_video
    assert "source.codec: the stream is hevc, the camera's codec is h264" in refused(
        tmp_path, 'codec = "h264"\n' + PASSTHROUGH.format("hevc")
    )
    assert "codec: a passthrough source needs the stream's video codec" in refused(
        tmp_path, 'codec = "avif"\n' + PASSTHROUGH.format("h264")
    )
    text = 'codec = "h264"\n[video]\ncrf = 20\n' + PASSTHROUGH.format("h264")
    assert "video: a passthrough source is not re-encoded" in refused(tmp_path, text)


def test_preflight_opens_the_encoder_and_reports_autos_choice(tmp_path):
    cfg = load(tmp_path, 'codec = "h264"\n' + SYNTHETIC)
    check_camera(cfg)
    selection = video_encoder(cfg)
    assert selection.profile.name == "libx264"  # no hardware encoder opens on this host
    assert [name for name, _ in selection.refused] == ["h264_v4l2m2m", "h264_nvenc", "h264_qsv"]


def test_preflight_names_an_encoder_that_is_not_the_codecs(tmp_path):
    cfg = load(tmp_path, 'codec = "h264"\n[video]\nencoder = "libx265"\n' + SYNTHETIC)
    with pytest.raises(ConfigError, match=r"^video\.encoder: 'libx265' is not a h264 encoder"):
        check_camera(cfg)
    named = load(tmp_path, 'codec = "h264"\n[video]\nencoder = "h264_nvenc"\n' + SYNTHETIC)
    with pytest.raises(ConfigError, match=r"^video\.encoder: no h264 encoder works here"):
        check_camera(named)


def test_preflight_refuses_an_odd_picture_size(tmp_path):
    cfg = load(tmp_path, 'codec = "h264"\n' + SYNTHETIC.replace("48", "47"))
    with pytest.raises(ConfigError, match=r"^source\.height: 47 is odd"):
        check_camera(cfg)


def test_validate_config_prints_the_encoder_and_pyav_missing_is_named(tmp_path):
    path = tmp_path / "camera.toml"
    path.write_text(HEAD + 'codec = "h264"\n' + SYNTHETIC)
    cli = [sys.executable, "-m", "tests.integration.without_torch"]
    check = ["camera", "--config", str(path), "--validate-config"]
    ok = subprocess.run([*cli, *check], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "h264 encoder libx264 (passed over: h264_v4l2m2m: " in ok.stdout
    assert "blocked: -" in ok.stderr  # a video camera imports no torch
    no_av = subprocess.run(
        [*cli, "--only", "av", *check], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert no_av.returncode == 2, no_av.stderr
    assert "codec: the h264 codec needs PyAV (the 'av' package" in no_av.stderr
