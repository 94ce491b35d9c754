"""The decoder's share of the rigs (``[shard]``, ``docs/sharding.md``).

A decoder that is replica ``index`` of ``replicas`` accepts only the frames of rigs that
:func:`pipeline.sharding.replica_of` gives to ``index``; the receiver refuses the others before
pairing, as ``malformed_messages_total{reason="wrong_shard"}``, and they take no rig slot.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass, field
from typing import Literal

from pipeline.config import ConfigError, setting
from pipeline.sharding import MAX_REPLICAS, check_assign, ordinal_of, replica_of

log = logging.getLogger(__name__)

_LOGGED_RIGS = 256  # refused rigs named in the log, at most (made-up rig ids are unbounded)


@dataclass(frozen=True)
class DecoderShardConfig:
    """Which replica this decoder is; ``replicas = 1`` (the default) serves every rig."""

    replicas: int = setting(1, min=1, max=MAX_REPLICAS, doc="Decoder replicas sharing the rigs.")
    index: int | Literal["auto"] = setting(
        0,
        min=0,
        max=MAX_REPLICAS - 1,
        doc="This decoder's replica index; 'auto' = the host name's trailing -N (StatefulSet).",
    )
    assign: dict[str, int] = field(
        default_factory=dict,
        metadata={"doc": "Pinned rigs: rig id -> replica index (overrides the hash)."},
    )

    def __post_init__(self) -> None:
        if isinstance(self.index, int) and self.index >= self.replicas:
            raise ConfigError(
                "shard.index", f"must be < replicas ({self.replicas}), got {self.index}"
            )
        check_assign(self.assign, self.replicas)


def resolve_index(cfg: DecoderShardConfig, hostname: str | None = None) -> int:
    """This decoder's index: ``cfg.index``, or for ``auto`` the ordinal of ``hostname``
    (default: this host's name). Raises :class:`ConfigError` naming ``shard.index``."""
    if cfg.index != "auto":
        return cfg.index
    name = socket.gethostname() if hostname is None else hostname
    index = ordinal_of(name)
    if index is None:
        raise ConfigError(
            "shard.index", f"'auto' needs a host name ending in -N (decoder-0 ...), got {name!r}"
        )
    if index >= cfg.replicas:
        raise ConfigError(
            "shard.index", f"host {name!r} is replica {index}, beyond replicas = {cfg.replicas}"
        )
    return index


class ShardFilter:
    """Says whether a rig is this decoder's; logs the first refused frames of each rig."""

    def __init__(self, cfg: DecoderShardConfig, index: int) -> None:
        self.replicas, self.index, self._assign = cfg.replicas, index, dict(cfg.assign)
        self._logged: set[str] = set()

    @classmethod
    def from_config(cls, cfg: DecoderShardConfig) -> ShardFilter:
        """The filter of this host's replica (``index = "auto"`` resolved now)."""
        index = resolve_index(cfg)
        if cfg.replicas > 1:
            pinned = len(cfg.assign)
            log.info("shard: replica %d of %d, %d rigs pinned", index, cfg.replicas, pinned)
        return cls(cfg, index)

    def owns(self, rig_id: str) -> bool:
        """True when ``rig_id`` belongs to this replica (always with one replica)."""
        if self.replicas == 1:
            return True
        owner = replica_of(rig_id, self.replicas, self._assign)
        new = rig_id not in self._logged and len(self._logged) < _LOGGED_RIGS
        if owner != self.index and new:
            self._logged.add(rig_id)
            log.warning(
                "rig %s belongs to replica %d of %d, not %d: its frames are refused",
                rig_id,
                owner,
                self.replicas,
                self.index,
            )
        return owner == self.index
