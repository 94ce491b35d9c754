"""pipeline.config: TOML into frozen dataclasses; every error names the dotted key."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from camera_nodes.config import CameraConfig, OpenCVSourceConfig, SyntheticSourceConfig
from decoder_node.config import DecoderCodecConfig, DecoderConfig
from pipeline.codec.standard import CAMERA_CODECS
from pipeline.config import ConfigError, load_config, parse_config, setting


@dataclass(frozen=True)
class Inner:
    ratio: float = setting(0.5, min=0.0, max=1.0)
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Alpha:
    type: Literal["alpha"] = "alpha"
    size: int = setting(3, min=1)


@dataclass(frozen=True)
class Beta:
    path: Path
    type: Literal["beta"] = "beta"


@dataclass(frozen=True)
class Root:
    name: str = setting()
    count: int = setting(1, min=0, max=10)
    enabled: bool = False
    mode: Literal["fast", "slow"] = "fast"
    limit: int | None = None
    inner: Inner = field(default_factory=Inner)
    backend: Alpha | Beta = field(default_factory=Alpha)

    def __post_init__(self) -> None:
        if self.name == "forbidden":
            raise ValueError("name may not be 'forbidden'")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return path


def error_of(data: dict) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(data, Root)
    return info.value


def test_defaults_and_nesting(tmp_path: Path) -> None:
    text = 'name = "x"\ncount = 4\n[inner]\nratio = 1\nnames = ["a", "b"]\n'
    text += '[backend]\ntype = "beta"\npath = "data/x"\n'
    cfg = load_config(write(tmp_path, text), Root)
    assert cfg.count == 4 and cfg.limit is None and cfg.mode == "fast"
    assert cfg.inner == Inner(ratio=1.0, names=("a", "b"))
    assert isinstance(cfg.inner.ratio, float)
    assert cfg.backend == Beta(path=Path("data/x"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.count = 5  # type: ignore[misc]


def test_unknown_key_names_key_and_line(tmp_path: Path) -> None:
    text = 'name = "x"\n\n[inner]\nratio = 0.2\nratoi = 0.3\n'
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), Root)
    err = info.value
    assert err.key == "inner.ratoi"
    assert "unknown key" in err.reason and "ratio" in err.reason
    assert err.line == 5
    assert str(err).startswith(f"{tmp_path / 'c.toml'}:5: inner.ratoi: unknown key")


@pytest.mark.parametrize(
    ("data", "key", "reason"),
    [
        ({}, "name", "missing required key"),
        ({"name": 3}, "name", "expected a str, got an int"),
        ({"name": "x", "count": "3"}, "count", "expected an int"),
        ({"name": "x", "count": 2.0}, "count", "expected an int"),
        ({"name": "x", "count": True}, "count", "expected an int"),
        ({"name": "x", "enabled": 1}, "enabled", "expected a bool"),
        ({"name": "x", "count": 11}, "count", "must be <= 10"),
        ({"name": "x", "count": -1}, "count", "must be >= 0"),
        ({"name": "x", "mode": "medium"}, "mode", "must be one of 'fast', 'slow'"),
        ({"name": "x", "limit": "no"}, "limit", "expected an int"),
        ({"name": "x", "inner": 5}, "inner", "expected a table"),
        ({"name": "x", "inner": {"ratio": 1.5}}, "inner.ratio", "must be <= 1.0"),
        ({"name": "x", "inner": {"names": ["a", 2]}}, "inner.names[1]", "expected a str"),
        ({"name": "x", "backend": {"size": 2}}, "backend.type", "missing required key"),
        ({"name": "x", "backend": {"type": "gamma"}}, "backend.type", "unknown type 'gamma'"),
        ({"name": "x", "backend": {"type": "alpha", "path": "p"}}, "backend.path", "unknown key"),
        ({"name": "x", "backend": {"type": "beta"}}, "backend.path", "missing required key"),
        ({"name": "x", "backend": {"type": "alpha", "size": 0}}, "backend.size", "must be >= 1"),
        ({"name": "forbidden"}, "Root", "may not be 'forbidden'"),
    ],
)
def test_errors_name_key_and_reason(data: dict, key: str, reason: str) -> None:
    err = error_of(data)
    assert err.key == key
    assert reason in err.reason


def test_toml_syntax_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(write(tmp_path, "name = \n"), Root)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "absent.toml", Root)


def test_overrides_are_checked_too(tmp_path: Path) -> None:
    path = write(tmp_path, 'name = "x"\n')
    assert load_config(path, Root, overrides={"count": 7, "inner.ratio": 0.1}).inner.ratio == 0.1
    with pytest.raises(ConfigError) as info:
        load_config(path, Root, overrides={"count": 70})
    assert info.value.key == "count"


def test_camera_config_files_in_repo_load() -> None:
    repo = Path(__file__).resolve().parents[1]
    left = load_config(repo / "configs/camera-left.toml", CameraConfig)
    right = load_config(repo / "configs/camera-right.toml", CameraConfig)
    assert (left.side, right.side) == ("left", "right")
    assert left.rig_id == right.rig_id
    assert left.source == right.source


def test_camera_config_source_union(tmp_path: Path) -> None:
    cfg = parse_config({"side": "left", "source": {"type": "opencv", "device": 2}}, CameraConfig)
    assert cfg.source == OpenCVSourceConfig(device=2)
    cfg = parse_config(
        {"side": "right", "source": {"type": "opencv", "device": "a.mp4"}}, CameraConfig
    )
    assert cfg.source.device == "a.mp4"
    assert parse_config({"side": "left"}, CameraConfig).source == SyntheticSourceConfig()
    with pytest.raises(ConfigError) as info:
        parse_config({"side": "left", "source": {"type": "kinect"}}, CameraConfig)
    assert info.value.key == "source.type"
    with pytest.raises(ConfigError) as info:
        parse_config({"side": "left", "rig_id": "bad id"}, CameraConfig)
    assert "rig_id" in info.value.reason
    with pytest.raises(ConfigError) as info:
        parse_config({"side": "up"}, CameraConfig)
    assert info.value.key == "side"


def test_camera_codec_choices_are_the_camera_codecs() -> None:
    for codec in CAMERA_CODECS:
        assert parse_config({"side": "left", "codec": codec}, CameraConfig).codec == codec
    with pytest.raises(ConfigError) as info:
        parse_config({"side": "left", "codec": "gif"}, CameraConfig)
    assert info.value.key == "codec"
    assert ", ".join(map(repr, CAMERA_CODECS)) in info.value.reason


def test_decoder_config_file_in_repo_loads() -> None:
    repo = Path(__file__).resolve().parents[1]
    cfg = load_config(repo / "configs/decoder.toml", DecoderConfig)
    assert cfg.codec == DecoderCodecConfig()
    assert cfg.codec.self_ensemble == "auto"


@pytest.mark.parametrize("value", [3, 0, True, "8", 8.0])
def test_decoder_self_ensemble_names_key_and_choices(value: object) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"codec": {"self_ensemble": value}}, DecoderConfig)
    assert info.value.key == "codec.self_ensemble"
    assert "'auto', 1, 2, 4, 8" in info.value.reason
    assert parse_config({"codec": {"self_ensemble": 4}}, DecoderConfig).codec.self_ensemble == 4


# Found by the config fuzz target (tests/fuzz/config.py): each of these files raised something
# other than a ConfigError (UnicodeDecodeError, RecursionError, ValueError, OverflowError,
# TypeError), or loaded a NaN past its range.
@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (b'name = "x"\n# \xff\n', "not UTF-8 text"),
        (b"name = " + b"[" * 2000 + b"]" * 2000 + b"\n", "invalid TOML"),
        (b"name = " + b"{a=" * 2000 + b"1" + b"}" * 2000 + b"\n", "invalid TOML"),
        (b'name = "x"\ncount = ' + b"9" * 5000 + b"\n", "invalid TOML"),
        (b'name = "x"\n[inner]\nratio = 0x' + b"f" * 400 + b"\n", "64-bit range"),
        (b'name = "x"\nlimit = 0x' + b"f" * 4000 + b"\n", "64-bit range"),
        (b'name = "x"\nmode = [0x' + b"f" * 4000 + b"]\n", "64-bit range"),
        (b'name = "x"\nunknown = 0x' + b"f" * 17 + b"\n", "64-bit range"),
        (b'name = "x"\n[inner]\nratio = nan\n', "must be >= 0.0, got nan"),
        (b'name = "x"\n[backend]\ntype = ["alpha"]\n', "unknown type ['alpha']"),
        (b'name = "x"\n[backend]\ntype = {a = 1}\n', "unknown type {'a': 1}"),
    ],
)
def test_hostile_files_raise_config_error(tmp_path: Path, text: bytes, reason: str) -> None:
    path = tmp_path / "c.toml"
    path.write_bytes(text)
    with pytest.raises(ConfigError) as info:
        load_config(path, Root)
    assert reason in info.value.reason


def test_an_empty_path_is_refused_by_key(tmp_path):
    from decoder_node.config import DecoderConfig

    path = tmp_path / "d.toml"
    path.write_text('[codec]\nweights_dir = ""\n')
    with pytest.raises(ConfigError, match=r"codec\.weights_dir.*empty path"):
        load_config(path, DecoderConfig)
