"""Registry entries of the standard camera codecs (JPEG, WebP, AVIF), without torch.

Each names the model id its containers carry and the SI-Net weights that decode it;
:mod:`pipeline.codec.registry` re-exports them beside the learned models.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import KW_ONLY, dataclass
from typing import TypeVar

from pipeline.codec.errors import WeightsError


@dataclass(frozen=True)
class RegistryEntry:
    """What every registry entry has: the model id its bitstreams carry, and (keyword only,
    after the kind's own fields) a one-line summary for ``docs/models.md`` and ``--help``."""

    model_id: str
    _: KW_ONLY
    summary: str


Entry = TypeVar("Entry", bound=RegistryEntry)


def by_model_id(entries: Iterable[Entry]) -> dict[str, Entry]:
    """``entries`` keyed by their model id (an id given twice is a bug: ``ValueError``)."""
    keyed: dict[str, Entry] = {}
    for entry in entries:
        if entry.model_id in keyed:
            raise ValueError(f"model id {entry.model_id!r} registered twice")
        keyed[entry.model_id] = entry
    return keyed


@dataclass(frozen=True)
class StandardModelSpec(RegistryEntry):
    """A registry entry for a standard camera codec: the codec, and the weights file
    (``<weights>-<hash>.pt``) of the SI-Net that decodes it."""

    codec: str
    weights: str


STANDARD_MODELS: dict[str, StandardModelSpec] = by_model_id(
    StandardModelSpec(f"{codec}-si1", codec, "si-std1", summary=f"{codec} with the si-std1 SI-Net")
    for codec in ("jpeg", "webp", "avif")
)
"""Standard-codec models; one SI-Net (``si-std1``, told the codec) serves all three."""


def standard_model_id(codec: str) -> str:
    """The registry model id of a standard camera codec (``jpeg`` -> ``jpeg-si1``)."""
    for spec in STANDARD_MODELS.values():
        if spec.codec == codec:
            return spec.model_id
    raise WeightsError(f"no registered model for codec {codec!r}")
