"""[shard] in the decoder and camera configs: validated, each error naming its key."""

from __future__ import annotations

from pathlib import Path

import pytest
import zmq
from prometheus_client import CollectorRegistry

from camera_nodes.config import CameraConfig
from decoder_node.config import DecoderConfig, PairingConfig, ReceiverConfig
from decoder_node.metrics import FrameDrops
from decoder_node.pairing import Pairer
from decoder_node.receiver import Receiver
from decoder_node.shard import DecoderShardConfig, ShardFilter, resolve_index
from pipeline.config import ConfigError, load_config
from pipeline.wire import encode_frame
from tests.decoder_node.conftest import frame


def _load(tmp_path: Path, text: str, cls):
    path = tmp_path / "c.toml"
    path.write_text(text)
    return load_config(path, cls)


def test_decoder_shard_section_loads(tmp_path):
    cfg = _load(
        tmp_path, '[shard]\nreplicas = 3\nindex = "auto"\nassign = {rig9 = 2}\n', DecoderConfig
    )
    assert cfg.shard == DecoderShardConfig(replicas=3, index="auto", assign={"rig9": 2})
    assert DecoderConfig().shard.replicas == 1


def test_auto_index_is_the_host_names_ordinal():
    cfg = DecoderShardConfig(replicas=3, index="auto")
    assert resolve_index(cfg, "decoder-2") == 2
    for host, reason in (("gpu-host", "ending in -N"), ("decoder-3", "beyond replicas")):
        with pytest.raises(ConfigError, match=reason) as e:
            resolve_index(cfg, host)
        assert e.value.key == "shard.index"


def test_camera_endpoint_template_is_filled_with_its_rigs_replica(tmp_path):
    text = 'side = "left"\nrig_id = "rig3"\nendpoint = "tcp://decoder-{index}.decoder:5555"\n'
    cfg = _load(tmp_path, text + "[shard]\nreplicas = 2\n", CameraConfig)
    assert cfg.decoder_endpoint == "tcp://decoder-0.decoder:5555"
    pinned = _load(tmp_path, text + "[shard]\nreplicas = 2\nassign = {rig3 = 1}\n", CameraConfig)
    assert pinned.decoder_endpoint == "tcp://decoder-1.decoder:5555"
    assert CameraConfig(side="left").decoder_endpoint == "tcp://127.0.0.1:5555"
    padded = _load(
        tmp_path, text.replace("{index}", "{index:02d}") + "[shard]\nreplicas = 2\n", CameraConfig
    )
    assert padded.decoder_endpoint == "tcp://decoder-00.decoder:5555"


def _camera(endpoint: str, shard: str = "replicas = 2") -> str:
    return f'side = "left"\nendpoint = "{endpoint}"\n[shard]\n{shard}\n'


BAD_VALUES = [
    (DecoderConfig, "[shard]\nreplicas = 0", "shard.replicas", ">= 1"),
    (DecoderConfig, "[shard]\nreplicas = 2\nindex = 2", "shard.index", "< replicas"),
    (DecoderConfig, '[shard]\nindex = "first"', "shard.index", "'auto'"),
    (DecoderConfig, "[shard]\nreplicas = 2\nassign = {rig1 = 5}", "shard.assign.rig1", "0..1"),
    (DecoderConfig, '[shard]\nreplicas = 2\nassign = {rig1 = "a"}', "shard.assign.rig1", "an int"),
    (
        DecoderConfig,
        '[shard]\nreplicas = 2\nassign = {"bad rig" = 0}',
        "shard.assign.bad rig",
        "rig id",
    ),
    (CameraConfig, _camera("tcp://decoder-{index}:5555", ""), "endpoint", "needs [shard] replicas"),
    (CameraConfig, _camera("tcp://decoder:5555"), "endpoint", "needs {index}"),
    (CameraConfig, _camera("tcp://{host}-{index}:5555"), "endpoint", "only {index}"),
    (CameraConfig, _camera("tcp://d{index[0]}:5555"), "endpoint", "only {index}"),
    (CameraConfig, _camera("tcp://d{index:s}:5555"), "endpoint", "only {index}"),
    (CameraConfig, _camera("tcp://d{:5555"), "endpoint", "only {index}"),
]


@pytest.mark.parametrize(("cls", "text", "key", "reason"), BAD_VALUES)
def test_bad_shard_values_and_camera_templates_name_the_key(tmp_path, cls, text, key, reason):
    with pytest.raises(ConfigError) as e:
        _load(tmp_path, text + "\n", cls)
    assert e.value.key == key and reason in e.value.reason
    assert e.value.line is not None


def test_receiver_refuses_another_shards_rig_before_pairing_and_without_a_slot():
    registry = CollectorRegistry()
    drops, items = FrameDrops(registry), []
    owns = ShardFilter(DecoderShardConfig(replicas=2, index=0), 0).owns  # rig3 -> 0, rig0 -> 1
    rx = Receiver(
        ReceiverConfig(bind="tcp://127.0.0.1:*", max_rigs=1),
        Pairer(PairingConfig(mode="sequence"), drops, registry),
        items.append,
        drops,
        registry,
        zmq.Context.instance(),
        owns=owns,
    )
    for rig in ("rig0", "rig3"):
        for side in ("left", "right"):
            f = frame(side, 1, rig=rig)
            rx.handle(encode_frame(f.header, f.payload), 0, 0.0)
    value = registry.get_sample_value
    assert value("stereo_decoder_malformed_messages_total", {"reason": "wrong_shard"}) == 2
    assert value("stereo_decoder_malformed_messages_total", {"reason": "too_many_rigs"}) == 0
    assert value("stereo_decoder_frames_received_total", {"rig": "rig0", "side": "left"}) is None
    assert [(i.left.rig, i.left.seq) for i in items] == [("rig3", 1)]
