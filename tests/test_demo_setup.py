"""The demo's camera configs: every camera codec, its quality where that codec takes it."""

from __future__ import annotations

import pytest

from camera_nodes.config import CameraConfig
from pipeline.config import load_config
from stereo_app.demo.setup import DemoPlan, pick_ports, write_configs


def _camera(tmp_path, codec: str, quality: int | None) -> CameraConfig:
    plan = DemoPlan(8, 10.0, 64, 48, 0, quality, tmp_path, codec=codec)
    return load_config(write_configs(plan, pick_ports())["camera-left"], CameraConfig)


@pytest.mark.parametrize("codec", ["h264", "hevc", "av1"])
def test_a_video_codecs_demo_quality_is_its_crf(tmp_path, codec):
    camera = _camera(tmp_path, codec, 70)
    assert (camera.codec, camera.quality) == (codec, None)
    settings = camera.video_settings()
    assert (settings.crf, settings.keyframe_interval) == (30, 10)  # quality = 100 - crf; 1 s
    assert _camera(tmp_path, codec, None).video_settings().crf is None  # the codec's default


def test_an_image_codecs_demo_quality_is_its_own(tmp_path):
    camera = _camera(tmp_path, "avif", 70)
    assert (camera.codec, camera.quality, camera.video) == ("avif", 70, None)
