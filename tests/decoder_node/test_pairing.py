"""Pairing: sequence and timestamp modes, slop, age-based release, bounded queues."""

from __future__ import annotations

import random

import pytest

from decoder_node.config import PairingConfig
from decoder_node.pairing import Pairer
from tests.decoder_node.pairing_reference import replay_pairs

pytestmark = pytest.mark.timeout(60)


def pairer(registry, drops, **kw) -> Pairer:
    cfg = PairingConfig(**{"mode": "timestamp", "slop_ms": 10.0, "max_age_ms": 500.0, **kw})
    return Pairer(cfg, drops, registry)


def unpaired(metric, side: str, reason: str, rig: str = "rig0") -> float:
    """``unpaired_frames_total`` of one rig, side and reason."""
    return metric("stereo_decoder_unpaired_frames_total", rig=rig, side=side, reason=reason)


def kinds(items) -> list[tuple[int | None, int | None]]:
    """(left seq, right seq) of each released item."""
    return [(i.left.seq if i.left else None, i.right.seq if i.right else None) for i in items]


def test_sequence_mode_pairs_equal_seq_whatever_the_timestamps(registry, drops, make_frame):
    p = pairer(registry, drops, mode="sequence")
    assert p.add(make_frame("left", 7, capture_ms=0.0), 0.0) == []
    assert p.add(make_frame("right", 8, capture_ms=0.0), 0.0) == []
    items = p.add(make_frame("right", 7, capture_ms=400.0), 0.01)
    assert kinds(items) == [(7, 7)]
    assert p.pending == 1


def test_timestamp_mode_pairs_within_slop_under_skew_and_jitter(registry, drops, make_frame):
    p = pairer(registry, drops, slop_ms=10.0)
    released = []
    for seq in range(20):
        skewed = seq * 66.7 + 6.0 + (seq % 3 - 1) * 2.5  # offset 6 ms, jitter +-2.5 ms
        # right seqs are numbered differently (a restarted camera): only time matters
        released += p.add(make_frame("right", seq + 1000, capture_ms=skewed), seq * 0.066)
        released += p.add(make_frame("left", seq, capture_ms=seq * 66.7), seq * 0.066 + 0.001)
    released += p.flush(2.0)
    assert kinds(released) == [(s, s + 1000) for s in range(20)]
    assert p.pending == 0


def test_timestamp_pair_waits_until_the_other_side_moves_past_it(registry, drops, make_frame):
    p = pairer(registry, drops, slop_ms=10.0)
    assert p.add(make_frame("left", 1, capture_ms=100.0), 0.0) == []
    # a left captured later (say at 102 ms) could still be nearer to this right: wait
    assert p.add(make_frame("right", 1, capture_ms=103.0), 0.0) == []
    assert kinds(p.add(make_frame("left", 2, capture_ms=200.0), 0.1)) == [(1, 1)]


def test_timestamp_mode_pairs_mutual_nearest_not_first_come(registry, drops, make_frame, metric):
    # slop wider than half the frame period: the older right is within slop but the newer
    # one is nearer; a first-come pairer would take the wrong one
    p = pairer(registry, drops, slop_ms=60.0)
    p.add(make_frame("right", 1, capture_ms=45.0), 0.0)
    p.add(make_frame("left", 2, capture_ms=100.0), 0.01)
    released = p.add(make_frame("right", 2, capture_ms=145.0), 0.1)
    released += p.add(make_frame("left", 3, capture_ms=200.0), 0.11)
    assert kinds(released) == [(None, 1), (2, 2)]
    assert unpaired(metric, "right", "no_partner") == 1


def test_timestamp_mode_takes_the_nearest_frame_not_yet_paired(registry, drops, make_frame):
    # a late left (40) after an on-time one (0): the right at 10 pairs with 0, and 40 then
    # pairs with the right at 90, 50 ms apart within the 60 ms slop, though its nearest right
    # overall is 10 (a rule blind to what is already paired would leave both alone)
    p, released = pairer(registry, drops, slop_ms=60.0), []
    for side, seq, ms in [
        ("left", 0, 0.0),
        ("right", 0, 10.0),
        ("left", 1, 40.0),
        ("right", 1, 90.0),
        ("left", 2, 200.0),
        ("right", 2, 300.0),
    ]:
        released += p.add(make_frame(side, seq, capture_ms=ms), 0.0)
    assert kinds(released) == [(0, 0), (1, 1), (2, None)]


@pytest.mark.parametrize("seed", range(40))
def test_timestamp_mode_matches_the_rule_replayed_offline(registry, drops, make_frame, seed):
    """Irregular capture (late frames, catch-up, stalls), each side in order, the two sides
    interleaved at random, nothing forced: the online pairer makes the offline rule's pairs."""
    rng = random.Random(seed)

    def captures(start_ms: float) -> list[float]:
        steps = [rng.choice([125, 125, 125, 10, 90, 250]) + rng.uniform(0, 8) for _ in range(30)]
        return [start_ms + sum(steps[: i + 1]) for i in range(len(steps))]

    times = {"left": captures(0.0), "right": captures(rng.uniform(0, 125))}
    order = ["left"] * 30 + ["right"] * 30
    rng.shuffle(order)
    p = pairer(registry, drops, slop_ms=60.0, max_age_ms=1e6)
    released, sent = [], {"left": 0, "right": 0}
    for side in order:
        seq = sent[side]
        sent[side] += 1
        released += p.add(make_frame(side, seq, capture_ms=times[side][seq]), 0.0)
    released += p.flush(1.0)  # every frame has arrived: the end decides with all known
    made = {(i.left.capture_ns, i.right.capture_ns) for i in released if i.left and i.right}
    ns = {s: [make_frame(s, 0, capture_ms=t).capture_ns for t in ts] for s, ts in times.items()}
    assert made == replay_pairs(ns["left"], ns["right"], int(60e6))
    assert len(made) >= 5


def test_timestamp_mode_refuses_a_partner_beyond_slop(registry, drops, make_frame, metric):
    p = pairer(registry, drops, slop_ms=5.0, max_age_ms=100.0)
    p.add(make_frame("left", 1, capture_ms=1000.0), 0.0)
    assert kinds(p.add(make_frame("right", 1, capture_ms=1006.0), 0.0)) == [(1, None)]
    assert kinds(p.expire(0.2)) == [(None, 1)]
    assert unpaired(metric, "left", "no_partner") == 1
    assert unpaired(metric, "right", "partner_timeout") == 1
    assert metric("stereo_decoder_pairs_total", rig="rig0") == 0


def test_timestamp_mode_picks_the_nearest_candidate(registry, drops, make_frame):
    p = pairer(registry, drops, slop_ms=10.0)
    p.add(make_frame("right", 1, capture_ms=991.0), 0.0)
    p.add(make_frame("right", 2, capture_ms=1003.0), 0.0)
    assert kinds(p.add(make_frame("left", 5, capture_ms=1000.0), 0.0)) == [(None, 1)]
    assert kinds(p.add(make_frame("left", 6, capture_ms=1100.0), 0.0)) == [(5, 2)]


def test_timestamp_mode_at_max_age_pairs_with_what_is_there(registry, drops, make_frame, metric):
    p = pairer(registry, drops, slop_ms=10.0, max_age_ms=100.0)
    p.add(make_frame("left", 1, capture_ms=100.0, recv_mono=0.0), 0.0)
    p.add(make_frame("right", 1, capture_ms=103.0, recv_mono=0.0), 0.0)
    assert p.expire(0.05) == []
    assert kinds(p.expire(0.1)) == [(1, 1)]
    assert metric("stereo_decoder_pairs_forced_total", rig="rig0", reason="partner_timeout") == 1


def test_timestamp_flush_counts_its_guesses_as_shutdown(registry, drops, make_frame, metric):
    # a left at 104 ms could still come for the right at 103: the pair is a guess, and so is
    # the other rig's left sent alone
    p = pairer(registry, drops, slop_ms=10.0)
    p.add(make_frame("left", 1, capture_ms=100.0), 0.0)
    p.add(make_frame("right", 1, capture_ms=103.0), 0.0)
    p.add(make_frame("left", 2, capture_ms=150.0, rig="other"), 0.0)
    assert sorted(kinds(p.flush(1.0)), key=str) == [(1, 1), (2, None)]
    assert metric("stereo_decoder_pairs_forced_total", rig="rig0", reason="shutdown") == 1
    assert unpaired(metric, "left", "shutdown", rig="other") == 1
    assert unpaired(metric, "left", "partner_timeout", rig="other") == 0


def test_left_whose_right_never_comes_is_released_alone_after_max_age(
    registry, drops, make_frame, metric
):
    p = pairer(registry, drops, max_age_ms=200.0)
    p.add(make_frame("left", 3, recv_mono=10.0), 10.0)
    assert p.expire(10.19) == []
    items = p.expire(10.201)
    assert kinds(items) == [(3, None)]
    assert metric("stereo_decoder_unmatched_frames", rig="rig0", side="left") == 0


def test_right_whose_left_never_comes_is_released_alone(registry, drops, make_frame):
    p = pairer(registry, drops, mode="sequence", max_age_ms=50.0)
    p.add(make_frame("right", 9, recv_mono=0.0), 0.0)
    assert kinds(p.expire(0.05)) == [(None, 9)]


def test_a_partner_arriving_after_its_release_goes_alone_at_once(
    registry, drops, make_frame, metric
):
    p = pairer(registry, drops, mode="sequence", max_age_ms=50.0)
    p.add(make_frame("left", 4, recv_mono=0.0), 0.0)
    p.expire(0.1)
    assert kinds(p.add(make_frame("right", 4, recv_mono=0.2), 0.2)) == [(None, 4)]
    assert unpaired(metric, "right", "partner_expired") == 1


def test_bounded_queue_releases_the_oldest_alone(registry, drops, make_frame, metric):
    p = pairer(registry, drops, mode="sequence", queue_size=3)
    released = []
    for seq in range(5):
        released += p.add(make_frame("left", seq), 0.0)
    assert kinds(released) == [(0, None), (1, None)]
    assert p.pending == 3
    assert unpaired(metric, "left", "queue_full") == 2


def test_duplicate_frame_is_dropped_and_counted(registry, drops, make_frame, metric):
    p = pairer(registry, drops, mode="sequence")
    p.add(make_frame("left", 1), 0.0)
    assert p.add(make_frame("left", 1), 0.0) == []
    dropped = metric(
        "stereo_decoder_frames_dropped_total", rig="rig0", side="left", reason="duplicate"
    )
    assert dropped == 1
    assert p.pending == 1


def test_rigs_are_paired_separately(registry, drops, make_frame):
    p = pairer(registry, drops, mode="sequence")
    p.add(make_frame("left", 1, rig="a"), 0.0)
    assert p.add(make_frame("right", 1, rig="b"), 0.0) == []
    items = p.add(make_frame("right", 1, rig="a"), 0.0)
    assert [(i.rig, i.left.rig, i.right.rig) for i in items] == [("a", "a", "a")]


def test_flush_releases_everything_alone_oldest_first(registry, drops, make_frame, metric):
    p = pairer(registry, drops, mode="sequence")
    p.add(make_frame("right", 2, recv_mono=2.0), 2.0)
    p.add(make_frame("left", 1, recv_mono=1.0), 1.0)
    assert kinds(p.flush(3.0)) == [(1, None), (None, 2)]
    assert p.pending == 0
    assert unpaired(metric, "right", "shutdown") == 1


def test_pair_metrics(registry, drops, make_frame, metric):
    p = pairer(registry, drops, slop_ms=10.0)
    p.add(make_frame("left", 1, capture_ms=100.0, recv_mono=0.0), 0.0)
    p.add(make_frame("right", 1, capture_ms=103.0, recv_mono=0.02), 0.02)
    p.add(make_frame("left", 2, capture_ms=200.0, recv_mono=0.1), 0.1)
    assert metric("stereo_decoder_pairs_total", rig="rig0") == 1
    assert metric("stereo_decoder_pairing_skew_seconds_count", rig="rig0") == 1
    skew = metric("stereo_decoder_pairing_skew_seconds_sum", rig="rig0")
    assert abs(skew - 0.003) < 1e-6
