"""Typed configuration: TOML files loaded into frozen dataclasses, checked field by field.

A configuration schema is a tree of frozen dataclasses. Each field's type hint says what TOML
value it takes; :func:`setting` adds documentation and an inclusive ``min``/``max`` range. A
union of dataclasses is a pluggable backend chosen by the table's ``type`` key, each variant
declaring ``type: Literal["name"]``. Unknown keys are rejected. Every problem raises
:class:`ConfigError` naming the dotted key and the reason::

    cfg = load_config("configs/camera-left.toml", CameraConfig)

Supported field types: ``bool``, ``int``, ``float`` (an int is accepted), ``str``, ``Path``,
``Literal[...]``, ``X | None`` (None only as a default: TOML has no null), unions of scalars
(first that fits) or of dataclasses (keyed on ``type``), ``tuple[X, ...]``, ``dict[str, X]``,
and nested dataclasses (``Table | None``: an optional table, None when left out). A
dataclass's ``__post_init__`` may raise ``ValueError`` for checks across fields; it is reported
as a ConfigError on that table.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

T = TypeVar("T")

_NO_VALUE = object()


class ConfigError(ValueError):
    """A configuration is invalid; ``key`` is the dotted key ("" for the whole file)."""

    def __init__(
        self, key: str, reason: str, *, source: str | None = None, line: int | None = None
    ) -> None:
        self.key, self.reason, self.source, self.line = key, reason, source, line
        super().__init__(self._message())

    def _message(self) -> str:
        where = self.source or ""
        if where and self.line is not None:
            where = f"{where}:{self.line}"
        prefix = f"{where}: " if where else ""
        return f"{prefix}{self.key}: {self.reason}" if self.key else f"{prefix}{self.reason}"


def setting(
    default: Any = dataclasses.MISSING,
    *,
    doc: str = "",
    min: float | None = None,
    max: float | None = None,
    default_factory: Any = dataclasses.MISSING,
) -> Any:
    """A dataclass field with a documentation string and an optional inclusive range."""
    metadata = {"doc": doc, "min": min, "max": max}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def load_config(path: str | Path, cls: type[T], overrides: Mapping[str, Any] | None = None) -> T:
    """Read a TOML file into ``cls``; ``overrides`` (dotted keys) replace file values first.

    Raises :class:`ConfigError` for an unreadable file, a TOML syntax error, or any invalid
    value; the error carries the file name and, where it can be found, the line of the key.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except OSError as e:
        raise ConfigError("", f"cannot read config: {e.strerror or e}", source=str(path)) from e
    except UnicodeDecodeError as e:
        raise ConfigError("", f"not UTF-8 text: {e}", source=str(path)) from e
    except (ValueError, RecursionError) as e:
        # TOMLDecodeError, and what tomllib lets through: int()'s refusal of a decimal
        # integer over 4300 digits, the recursion limit of deeply nested arrays and tables.
        raise ConfigError("", f"invalid TOML: {e}", source=str(path)) from e
    try:
        _check_integers(data)
        return parse_config(_apply_overrides(data, overrides or {}), cls)
    except ConfigError as e:
        line = _find_line(text, e.key)
        raise ConfigError(e.key, e.reason, source=str(path), line=line) from e


def parse_config(data: Mapping[str, Any], cls: type[T], key: str = "") -> T:
    """Build ``cls`` from an already parsed mapping (a TOML table); ``key`` prefixes errors."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    return _build(cls, data, key)


_INT64 = range(-(2**63), 2**63)


def _check_integers(value: Any, key: str = "") -> None:
    """Refuse integers outside TOML's 64-bit range (toml.io: a parser must), which tomllib
    reads: no field takes one, and Python will not even print one over 4300 digits."""
    if isinstance(value, dict):
        for name, item in value.items():
            _check_integers(item, _join(key, name))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_integers(item, f"{key}[{index}]")
    elif type(value) is int and value not in _INT64:
        raise ConfigError(key, "integer out of TOML's 64-bit range")


def _apply_overrides(data: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    for dotted, value in overrides.items():
        table = data
        *parents, leaf = dotted.split(".")
        for name in parents:
            table = table.setdefault(name, {})
            if not isinstance(table, dict):
                raise ConfigError(dotted, f"cannot override: {name!r} is not a table")
        table[leaf] = value
    return data


def _join(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name


def _build(cls: type[T], data: Any, key: str) -> T:
    if not isinstance(data, Mapping):
        raise ConfigError(key, f"expected a table, got {_kind(data)}")
    known = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(known))
    if unknown:
        choices = ", ".join(sorted(known))
        raise ConfigError(_join(key, unknown[0]), f"unknown key (expected one of: {choices})")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, f in known.items():
        if name in data:
            kwargs[name] = _field_value(f, hints[name], data[name], _join(key, name))
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(_join(key, name), "missing required key")
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except ValueError as e:
        raise ConfigError(key or cls.__name__, str(e)) from e


def _field_value(f: dataclasses.Field, tp: Any, value: Any, key: str) -> Any:
    converted = _convert(value, tp, key)
    lo, hi = f.metadata.get("min"), f.metadata.get("max")
    if isinstance(converted, int | float) and not isinstance(converted, bool):
        if lo is not None and not converted >= lo:  # `not >=`: NaN is out of every range
            raise ConfigError(key, f"must be >= {lo}, got {converted}")
        if hi is not None and not converted <= hi:
            raise ConfigError(key, f"must be <= {hi}, got {converted}")
    return converted


def _convert(value: Any, tp: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, key)
    if origin in (typing.Union, types.UnionType):
        return _convert_union(value, typing.get_args(tp), key)
    if origin is Literal:
        return _convert_literal(value, typing.get_args(tp), key)
    if origin is tuple:
        return _convert_tuple(value, typing.get_args(tp), key)
    if origin is dict:
        return _convert_dict(value, typing.get_args(tp), key)
    return _convert_scalar(value, tp, key)


def _convert_scalar(value: Any, tp: Any, key: str) -> Any:
    if tp is Any:
        return value
    if tp is float and type(value) in (int, float):
        return float(value)
    if tp is Path and isinstance(value, str):
        if not value:  # Path("") is the working directory, never what an empty string meant
            raise ConfigError(key, "empty path (leave the key out for its default)")
        return Path(value)
    if tp in (bool, int, str) and type(value) is tp:
        return value
    name = getattr(tp, "__name__", str(tp))
    raise ConfigError(key, f"expected {_article(name)}, got {_kind(value)} {value!r}")


def _convert_literal(value: Any, choices: tuple[Any, ...], key: str) -> Any:
    for choice in choices:
        if type(value) is type(choice) and value == choice:
            return value
    raise ConfigError(key, f"must be one of {', '.join(map(repr, choices))}, got {value!r}")


def _convert_union(value: Any, args: tuple[Any, ...], key: str) -> Any:
    options = [a for a in args if a is not type(None)]
    if len(options) == 1 and dataclasses.is_dataclass(options[0]):
        return _build(options[0], value, key)  # an optional table: no ``type`` to key on
    if all(dataclasses.is_dataclass(a) for a in options):
        return _convert_tagged(value, options, key)
    reasons = []
    for option in options:
        try:
            return _convert(value, option, key)
        except ConfigError as e:
            reasons.append(e.reason)
    raise ConfigError(key, " or ".join(reasons))


def _convert_tagged(value: Any, variants: list[Any], key: str) -> Any:
    if not isinstance(value, Mapping):
        raise ConfigError(key, f"expected a table, got {_kind(value)}")
    by_tag = {_tag_of(v): v for v in variants}
    choices = ", ".join(map(repr, by_tag))
    tag = value.get("type", _NO_VALUE)
    if tag is _NO_VALUE:
        raise ConfigError(_join(key, "type"), f"missing required key (one of {choices})")
    if not isinstance(tag, str) or tag not in by_tag:
        raise ConfigError(_join(key, "type"), f"unknown type {tag!r} (expected one of {choices})")
    return _build(by_tag[tag], value, key)


def _tag_of(cls: type) -> str:
    hint = typing.get_type_hints(cls).get("type")
    if typing.get_origin(hint) is not Literal or len(typing.get_args(hint)) != 1:
        raise TypeError(f"{cls.__name__} in a union needs a field type: Literal['name']")
    return typing.get_args(hint)[0]


def _convert_tuple(value: Any, args: tuple[Any, ...], key: str) -> tuple[Any, ...]:
    if not isinstance(value, list):
        raise ConfigError(key, f"expected an array, got {_kind(value)}")
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(_convert(v, args[0], f"{key}[{i}]") for i, v in enumerate(value))
    if len(value) != len(args):
        raise ConfigError(key, f"expected an array of {len(args)} items, got {len(value)}")
    pairs = enumerate(zip(value, args, strict=True))
    return tuple(_convert(v, t, f"{key}[{i}]") for i, (v, t) in pairs)


def _convert_dict(value: Any, args: tuple[Any, ...], key: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(key, f"expected a table, got {_kind(value)}")
    value_type = args[1] if args else Any
    return {k: _convert(v, value_type, _join(key, k)) for k, v in value.items()}


def _kind(value: Any) -> str:
    names = {dict: "a table", list: "an array", str: "a string", bool: "a boolean"}
    return names.get(type(value), _article(type(value).__name__))


def _article(name: str) -> str:
    return f"an {name}" if name[:1] in "aeiouAEIOU" else f"a {name}"


_TABLE_RE = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
_KEY_RE = re.compile(r"^\s*([A-Za-z0-9_\-\"'.]+)\s*=")


def _find_line(text: str, dotted: str) -> int | None:
    """Best-effort 1-based line of a dotted key in a TOML text (for error messages)."""
    if not dotted:
        return None
    parts = re.sub(r"\[\d+\]", "", dotted).split(".")
    table: list[str] = []
    fallback = None
    for number, line in enumerate(text.splitlines(), start=1):
        header = _TABLE_RE.match(line)
        if header:
            table = [p.strip().strip("\"'") for p in header.group(1).split(".")]
            if table == parts[: len(table)] and fallback is None and table:
                fallback = number
            continue
        match = _KEY_RE.match(line)
        if match:
            full = table + [p.strip("\"'") for p in match.group(1).split(".")]
            if full == parts:
                return number
    return fallback
