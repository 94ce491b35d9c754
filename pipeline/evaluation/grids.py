"""The codecs and quality grids ``stereo-pipeline eval`` runs, from its command line."""

from __future__ import annotations

from pipeline.codec.video.settings import CRF_RANGE, VIDEO_CODECS
from pipeline.evaluation.classic import CLASSIC_CODECS, ClassicCodec


def parse_grids(items: list[str]) -> dict[str, tuple[int, ...]]:
    """``--grid CODEC=Q,Q,...`` by codec: an image codec's qualities or a video codec's CRFs
    (checked against the codec's CRF range); ValueError naming a bad item."""
    known = sorted((*CLASSIC_CODECS, *VIDEO_CODECS))
    grids = {}
    for item in items:
        name, _, values = item.partition("=")
        try:
            grid = tuple(int(v) for v in values.split(","))
        except ValueError:
            grid = ()
        if name not in known or not grid:
            raise ValueError(f"--grid {item!r}: expected one of {known}=Q,Q,...")
        lo, hi = CRF_RANGE.get(name, (min(grid), max(grid)))
        if not all(lo <= q <= hi for q in grid):
            raise ValueError(f"--grid {item!r}: {name}'s CRF is in {lo}..{hi}")
        grids[name] = grid
    return grids


def classic_codecs(
    selected: list[str], overrides: dict[str, tuple[int, ...]]
) -> list[ClassicCodec]:
    """The image codecs of ``selected`` (a ``NAME_si`` brings NAME), with their grids."""
    codecs = []
    wanted = {name.removesuffix("_si") for name in selected}
    for name in CLASSIC_CODECS:
        if name in wanted:
            codec = CLASSIC_CODECS[name]
            grid = overrides.get(name, codec.qualities)
            codecs.append(ClassicCodec(name, grid, codec.encode, codec.decode))
    return codecs
