"""The timestamp pairing rule of ``docs/pairing.md``, replayed offline with every frame known.

Frames are decided oldest capture first. A frame pairs with the not-yet-decided frame of the
other side captured nearest to it, if that frame's nearest not-yet-decided frame of this side
is it and they are at most the slop apart; otherwise it goes alone. The online pairer must
reach the same pairs whenever no decision was forced (``max_age_ms``, a full queue, shutdown).
"""

from __future__ import annotations


def replay_pairs(lefts: list[int], rights: list[int], slop_ns: int) -> set[tuple[int, int]]:
    """The (left, right) capture times the rule pairs, given all capture times of both sides."""
    undecided = {"left": sorted(lefts), "right": sorted(rights)}
    other = {"left": "right", "right": "left"}
    pairs: set[tuple[int, int]] = set()
    while undecided["left"] or undecided["right"]:
        side = min((s for s in undecided if undecided[s]), key=lambda s: undecided[s][0])
        t = undecided[side].pop(0)
        candidate = _nearest(undecided[other[side]], t)
        if candidate is None or abs(candidate - t) > slop_ns:
            continue
        if _nearest([t, *undecided[side]], candidate) != t:
            continue
        undecided[other[side]].remove(candidate)
        pairs.add((t, candidate) if side == "left" else (candidate, t))
    return pairs


def _nearest(times: list[int], t: int) -> int | None:
    """The time in ``times`` nearest to ``t`` (the earlier one on a tie), None if empty."""
    return min(times, key=lambda x: (abs(x - t), x)) if times else None
