"""A decoder running without CURVE on a non-loopback address (``[security] allow_insecure``)
warns at start and exports ``stereo_decoder_insecure_endpoints``; on loopback the gauge is 0."""

from __future__ import annotations

import dataclasses

from decoder_node.app import DecoderApp
from decoder_node.config import SecurityConfig, ZmqSinkConfig
from tests.decoder_node.test_app import config


def _started(cfg, fake_decoder_cls) -> DecoderApp:
    app = DecoderApp(cfg, decoder=fake_decoder_cls())
    app.start()
    return app


def test_running_open_is_logged_and_counted_in_a_gauge(tmp_path, caplog, fake_decoder_cls):
    cfg = config(tmp_path)
    cfg = dataclasses.replace(
        cfg,
        sinks=(*cfg.sinks, ZmqSinkConfig(type="zmq", bind="tcp://*:*")),
        security=SecurityConfig(allow_insecure=True),
    )
    app = _started(cfg, fake_decoder_cls)
    try:
        assert app.registry.get_sample_value("stereo_decoder_insecure_endpoints") == 1.0
        assert app.registry.get_sample_value("stereo_decoder_legacy_camera_keys") == 0.0
        warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
        assert any("sinks[1].bind = 'tcp://*:*'" in line for line in warned), warned
    finally:
        app.stop()
    loopback = _started(config(tmp_path), fake_decoder_cls)
    try:
        assert loopback.registry.get_sample_value("stereo_decoder_insecure_endpoints") == 0.0
    finally:
        loopback.stop()
