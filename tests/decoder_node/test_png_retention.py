"""PNG sink retention on a real folder: ``max_files``, ``max_age_s``, restarts, the metric."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from decoder_node.config import DecoderConfig, PngSinkConfig
from decoder_node.frames import DecodedItem, StereoItem
from decoder_node.sinks import PngSink, SinkSet
from decoder_node.sinks.retention import Retention
from pipeline.config import ConfigError, load_config

pytestmark = pytest.mark.timeout(60)
DELETED = "stereo_decoder_sink_files_deleted_total"


def _item(make_frame, seq: int) -> DecodedItem:
    item = StereoItem("rig0", make_frame("left", seq), make_frame("right", seq), 0.0)
    image = np.full((8, 12, 3), seq % 256, np.uint8)
    return DecodedItem(item, image, image, image, {})


def _pngs(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.png"))


def _touch(path: Path, mtime: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"png")
    os.utime(path, (mtime, mtime))


def test_max_files_keeps_the_newest_outputs_and_counts_the_rest(tmp_path, make_frame, registry):
    sink = PngSink(PngSinkConfig(type="png", dir=tmp_path, max_files=3))
    sinks = SinkSet([sink], registry)
    sinks.open()
    for seq in range(5):  # two views each: ten files written
        sinks.write(_item(make_frame, seq))
    assert _pngs(tmp_path) == [
        "rig0/left/000004.png",
        "rig0/right/000003.png",
        "rig0/right/000004.png",
    ]
    assert registry.get_sample_value(DELETED, {"reason": "max_files"}) == 7
    assert registry.get_sample_value(DELETED, {"reason": "max_age"}) == 0


def test_max_age_deletes_outputs_older_than_the_limit(tmp_path):
    now = [1000.0]
    retention = Retention(0, 10.0, clock=lambda: now[0])
    paths = [tmp_path / f"{i}.png" for i in range(4)]
    for i, path in enumerate(paths):
        path.write_bytes(b"png")
        now[0] = 1000.0 + 3 * i  # written at 1000, 1003, 1006, 1009
        retention.added(path)
    assert all(p.exists() for p in paths)  # the oldest is 9 s old
    now[0] = 1015.0
    paths[0].write_bytes(b"again")  # rewritten: now the newest, not deleted as the oldest
    retention.added(paths[0])
    assert [p.exists() for p in paths] == [True, False, True, True]
    assert retention.deleted.labels("max_age")._value.get() == 1
    assert len(retention) == 3


def test_a_restart_takes_stock_of_earlier_files_oldest_first(tmp_path, make_frame):
    now = 1_000_000.0
    _touch(tmp_path / "rig0/left/000001.png", now - 7200)  # past max_age_s
    _touch(tmp_path / "rig0/left/000002.png", now - 60)
    _touch(tmp_path / "rig9/right/000005.png", now - 30)
    (tmp_path / "notes.txt").write_text("not a PNG: left alone")
    sink = PngSink(PngSinkConfig(type="png", dir=tmp_path, max_files=2, max_age_s=3600))
    sink.retention._clock = lambda: now
    sink.open()
    assert _pngs(tmp_path) == ["rig0/left/000002.png", "rig9/right/000005.png"]
    sink.write(_item(make_frame, 7))  # two more: the two earlier files go
    assert _pngs(tmp_path) == ["rig0/left/000007.png", "rig0/right/000007.png"]
    assert (tmp_path / "notes.txt").exists()
    assert sink.retention.deleted.labels("max_files")._value.get() == 2
    assert sink.retention.deleted.labels("max_age")._value.get() == 1


def test_zero_limits_keep_everything(tmp_path, make_frame):
    sink = PngSink(PngSinkConfig(type="png", dir=tmp_path))
    sink.open()
    for seq in range(4):
        sink.write(_item(make_frame, seq))
    assert len(_pngs(tmp_path)) == 8 and len(sink.retention) == 0


def test_negative_limits_are_config_errors_naming_the_key(tmp_path):
    for key, value in (("max_files", "-1"), ("max_age_s", "-0.5")):
        path = tmp_path / "decoder.toml"
        path.write_text(f'[[sinks]]\ntype = "png"\n{key} = {value}\n')
        with pytest.raises(ConfigError, match=key):
            load_config(path, DecoderConfig)
