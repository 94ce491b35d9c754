"""Real containers to mutate: every camera codec, both roles, tiny synthetic images."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from pipeline.codec import ImageEncoder, Role
from pipeline.codec.encode import StandardEncoder
from tests.conftest import natural_image

CODECS = ("dsin", "avif", "webp", "jpeg")
#: (height, width, channels): small enough that a decode takes milliseconds; 16 is the
#: SI-Finder's block size, 24x40 pads to a block multiple, 64x48 holds whole 64-pixel tiles.
SHAPES = ((16, 16, 3), (24, 40, 1), (64, 48, 3))


@dataclass(frozen=True)
class Seed:
    """One encoded view: which codec, role and shape made ``data``."""

    codec: str
    role: Role
    shape: tuple[int, int, int]
    data: bytes


@cache
def seeds() -> tuple[Seed, ...]:
    """The corpus, encoded once per process (about a second on two cores)."""
    encoders = {"dsin": ImageEncoder()} | {c: StandardEncoder(c) for c in CODECS[1:]}
    out = []
    for codec, encoder in encoders.items():
        for index, (height, width, channels) in enumerate(SHAPES):
            for role in Role:
                image = natural_image(height, width, channels, seed=2 * index + (role is Role.SIDE))
                data = encoder.encode(image, role=role)
                out.append(Seed(codec, role, (height, width, channels), data))
    return tuple(out)


def seed_bytes(role: Role | None = None) -> tuple[bytes, ...]:
    """The corpus' containers, all or those of one role."""
    return tuple(s.data for s in seeds() if role is None or s.role is role)
