"""Fuzz target ``config``: :func:`pipeline.config.load_config` with the decoder's and the
camera's schemas (``DecoderConfig``, ``CameraConfig``).

Contract (``pipeline/config.py``): every file either loads into the schema, with every value
inside its declared ``min``/``max`` range and a config that prints (``--validate-config``
prints it), or raises :class:`~pipeline.config.ConfigError`. Inputs: the repository's
``configs/*.toml`` byte-mutated with a TOML dictionary (brackets, quotes, ``0x``, ``nan``,
dates; repeated slices make deep nesting and huge numbers), those files parsed and changed
value by value (any TOML value at any key, keys removed or added, a union's ``type`` set to
anything) then written back with tomli-w, random TOML documents over the schemas' key names,
and raw bytes (invalid UTF-8 included).
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import tomli_w
from hypothesis import strategies as st

import camera_nodes.config as camera_config
import decoder_node.config as decoder_config
from camera_nodes.config import CameraConfig
from decoder_node.config import DecoderConfig
from pipeline.config import ConfigError, load_config
from tests.fuzz.mutate import mutated
from tests.fuzz.target import Target

SCHEMAS = (DecoderConfig, CameraConfig)
CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
TOKENS = (
    b"[",
    b"]",
    b"[[",
    b"]]",
    b"{",
    b"}",
    b"=",
    b",",
    b".",
    b'"',
    b"'",
    b'"""',
    b"'''",
    b"#",
    b"\n",
    b"\r\n",
    b"\\u",
    b"\\U0010FFFF",
    b"\\uD800",
    b"0x",
    b"0o",
    b"0b",
    b"nan",
    b"inf",
    b"-inf",
    b"1e999",
    b"true",
    b"1979-05-27T07:32:00Z",
    b"type",
    b"sinks",
    b"source",
    b"[source]",
    b"[video]",
    b"[[sinks]]",
    b"= [",
    b"= {",
    b"\xff",
    b"\xc3",
    b"\x00",
)


@cache
def seed_texts() -> tuple[bytes, ...]:
    """The repository's configuration files."""
    return tuple(path.read_bytes() for path in sorted(CONFIG_DIR.glob("*.toml")))


@cache
def _key_names() -> tuple[str, ...]:
    """Every field name of every schema class in the two config modules, and ``type``."""
    modules = (decoder_config, camera_config)
    classes = [c for m in modules for c in vars(m).values() if dataclasses.is_dataclass(c)]
    return tuple(sorted({"type"} | {f.name for c in classes for f in dataclasses.fields(c)}))


#: Integers at and past the edges of TOML's 64-bit range and of a float (2**1030).
EDGE_INTS = (0, -1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, -(2**63) - 1, 2**64, 2**1030)
EDGE_FLOATS = (math.nan, -math.nan, math.inf, -math.inf, -0.0, 5e-324, 1.7976931348623157e308)


@cache
def keys() -> st.SearchStrategy[str]:
    """Key names of the schemas, or any text."""
    return st.sampled_from(_key_names()) | st.text(max_size=12)


@cache
def toml_values() -> st.SearchStrategy[Any]:
    """Any value a TOML document holds: scalars at their edges, arrays, tables."""
    scalars = st.one_of(
        st.booleans(),
        st.integers(-(2**63), 2**63 - 1),
        st.sampled_from(EDGE_INTS),
        st.integers(-(2**70), 2**70),
        st.floats(),
        st.sampled_from(EDGE_FLOATS),
        st.text(max_size=40),
        st.sampled_from(
            (
                "none",
                "png",
                "zmq",
                "timing",
                "synthetic",
                "folder",
                "opencv",
                "auto",
                "cpu",
                "left",
                "right",
                "avif",
                "dsin",
                "h264",
                "av1",
                "passthrough",
                "tcp://*:5555",
            )
        ),
        st.datetimes(),
        st.dates(),
        st.times(),
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys(), inner, max_size=4),
        max_leaves=8,
    )


def _like(old: Any) -> st.SearchStrategy[Any]:
    """Values of ``old``'s type at their edges: the mutation most likely to slip past a check."""
    if isinstance(old, bool) or not isinstance(old, int | float | str):
        return toml_values()
    if isinstance(old, int):
        return st.sampled_from(EDGE_INTS) | st.integers(old - 2, old + 2)
    if isinstance(old, float):
        return st.sampled_from(EDGE_FLOATS) | st.floats()
    return st.sampled_from(("", " ", "\x00", "é" * 70, old * 50)) | st.text()


def _paths(table: dict[str, Any], prefix: tuple = ()) -> list[tuple]:
    out = []
    for key, value in table.items():
        out.append((*prefix, key))
        children = value if isinstance(value, list) else [value]
        for index, child in enumerate(children):
            if isinstance(child, dict):
                step = (key, index) if isinstance(value, list) else (key,)
                out += _paths(child, (*prefix, *step))
    return out


@st.composite
def edited(draw) -> bytes:
    """A repository config parsed, changed at 1-3 keys (set, removed, added), written back."""
    document = tomllib.loads(draw(st.sampled_from(seed_texts())).decode())
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(document) or [("type",)]))
        parent: Any = document
        for step in path[:-1]:
            parent = parent[step]
        op = draw(st.sampled_from(("set", "set", "remove", "add")))
        if op == "set":
            old = parent[path[-1]] if isinstance(parent, list) else parent.get(path[-1])
            parent[path[-1]] = draw(_like(old) | toml_values())
        elif op == "remove":
            parent.pop(path[-1], None)
        else:
            parent[draw(keys())] = draw(toml_values())
    return _dump(document)


def _dump(document: dict[str, Any]) -> bytes:
    try:
        return tomli_w.dumps(document).encode()
    except (TypeError, ValueError):  # a value tomli-w cannot write (e.g. a time with a zone)
        return b""


def documents() -> st.SearchStrategy[bytes]:
    """Every kind of input above."""
    seeds = st.sampled_from(seed_texts())
    return st.one_of(
        mutated(seeds, TOKENS),
        mutated(seeds, TOKENS, max_ops=8),
        edited(),
        mutated(edited(), TOKENS),
        st.dictionaries(keys(), toml_values(), max_size=6).map(_dump),
        st.binary(max_size=200),
    )


@cache
def _scratch() -> Path:
    return Path(tempfile.mkdtemp(prefix="fuzz-config-")) / "config.toml"


def _check_ranges(config: Any) -> None:
    """Every numeric field of a loaded config lies in its declared range (NaN does not)."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        lo, hi = f.metadata.get("min"), f.metadata.get("max")
        if isinstance(value, int | float) and not isinstance(value, bool):
            assert lo is None or value >= lo, (f.name, value)
            assert hi is None or value <= hi, (f.name, value)
        for item in value if isinstance(value, tuple) else (value,):
            if dataclasses.is_dataclass(item):
                _check_ranges(item)


def check(document: bytes) -> None:
    """Load one file with both schemas; a loaded config is in range and prints."""
    path = _scratch()
    path.write_bytes(document)
    for schema in SCHEMAS:
        try:
            config = load_config(path, schema)
        except ConfigError:
            continue
        assert isinstance(config, schema)
        _check_ranges(config)
        repr(config)


TARGET = Target(
    name="config",
    inputs=documents,
    check=check,
    setup=lambda: [check(text) for text in seed_texts()] and None,
    memory_mib=1024,
    timeout_s=10.0,
)
