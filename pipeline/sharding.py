"""Which decoder replica serves a rig: the one rule that cameras and decoders both apply.

Rendezvous (highest-random-weight) hashing, Thaler & Ravishankar 1998: every replica index
``i`` in ``0 .. replicas-1`` gets a weight for the rig,

    weight(rig, i) = big-endian unsigned 64-bit integer of
                     BLAKE2b(digest_size=8, data=UTF-8(rig) + b"\\x00" + ASCII(decimal i))

and the rig goes to the replica with the highest weight (the lowest index on a tie). Going from
N to N+1 replicas moves only the rigs whose weight on the new replica beats their old winner,
about 1/(N+1) of them; the others keep their replica. An explicit ``assign`` map (rig -> index)
overrides the hash, to pin a rig. ``docs/sharding.md`` spells out the rule for other
implementations; ``tests/test_sharding.py`` fixes expected assignments.
"""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from pipeline.config import ConfigError, setting
from pipeline.wire.protocol import ID_PATTERN

MAX_REPLICAS = 1024
"""The most decoder replicas a configuration may name."""

_ORDINAL = re.compile(r"-(\d+)$")


def replica_weight(rig_id: str, index: int) -> int:
    """The rendezvous weight of ``rig_id`` on replica ``index`` (the formula above)."""
    data = rig_id.encode("utf-8") + b"\x00" + str(index).encode("ascii")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


@lru_cache(maxsize=4096)
def rendezvous_replica(rig_id: str, replicas: int) -> int:
    """The index in ``0 .. replicas-1`` with the highest weight for ``rig_id``."""
    if not 1 <= replicas <= MAX_REPLICAS:
        raise ValueError(f"replicas must be 1..{MAX_REPLICAS}, got {replicas}")
    return max(range(replicas), key=lambda i: (replica_weight(rig_id, i), -i))


def replica_of(rig_id: str, replicas: int, assign: Mapping[str, int] | None = None) -> int:
    """The replica that serves ``rig_id``: its pinned index in ``assign``, else the hash's."""
    if assign and rig_id in assign:
        return assign[rig_id]
    return rendezvous_replica(rig_id, replicas)


def ordinal_of(hostname: str) -> int | None:
    """The trailing ordinal of a StatefulSet pod's host name (``decoder-2`` -> 2), or None."""
    match = _ORDINAL.search(hostname.split(".")[0])
    return int(match.group(1)) if match else None


def template_fields(template: str) -> set[str]:
    """The ``{...}`` field names of an endpoint template; ValueError for a stray brace."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def fill_endpoint(template: str, index: int) -> str:
    """``template`` with ``{index}`` replaced by ``index`` (``tcp://decoder-{index}.decoder:5555``);
    ValueError naming the problem for any other ``{...}`` field or a stray brace."""
    try:
        fields = template_fields(template)
        if fields - {"index"}:
            raise ValueError(f"unknown field {sorted(fields - {'index'})[0]!r}")
        return template.format(index=index)
    except ValueError as e:
        raise ValueError(
            f"bad endpoint template {template!r} (only {{index}} is filled): {e}"
        ) from e


def check_assign(assign: Mapping[str, int], replicas: int, key: str = "shard.assign") -> None:
    """Raise :class:`ConfigError` naming ``<key>.<rig>`` for a bad rig id or index."""
    for rig, index in assign.items():
        if not ID_PATTERN.fullmatch(rig):
            raise ConfigError(f"{key}.{rig}", "a rig id is 1-64 chars of [A-Za-z0-9_.:+-]")
        if not 0 <= index < replicas:
            raise ConfigError(f"{key}.{rig}", f"index must be 0..{replicas - 1}, got {index}")


@dataclass(frozen=True)
class ShardConfig:
    """The ``[shard]`` table of a camera: how many decoder replicas share the rigs, and pins.

    ``replicas = 0`` (the default) turns sharding off: the camera's ``endpoint`` is used as
    written. Otherwise the endpoint holds ``{index}``, filled with :func:`replica_of`.
    """

    replicas: int = setting(
        0, min=0, max=MAX_REPLICAS, doc="Decoder replicas; 0 = not sharded (endpoint as is)."
    )
    assign: dict[str, int] = field(
        default_factory=dict,
        metadata={"doc": "Pinned rigs: rig id -> replica index (overrides the hash)."},
    )

    def __post_init__(self) -> None:
        check_assign(self.assign, max(self.replicas, 1))
