"""pipeline.sharding: the rig -> decoder replica rule, its fixed answers and its moves."""

from __future__ import annotations

import hashlib

import pytest

from pipeline.config import ConfigError
from pipeline.sharding import (
    fill_endpoint,
    ordinal_of,
    rendezvous_replica,
    replica_of,
    replica_weight,
)
from stereo_app.shard_cli import main as shard_main

RIGS = ["rig0", "rig1", "rig2", "rig3", "cam-a", "cam-b", "north.gate", "x"]

#: The rule's answers, fixed: a change of the hash, the weight's bytes or the tie rule fails here
#: (and would move every deployed rig). docs/sharding.md lists the same table.
EXPECTED = {
    1: [0, 0, 0, 0, 0, 0, 0, 0],
    2: [1, 1, 1, 0, 1, 1, 1, 1],
    3: [2, 2, 2, 2, 1, 1, 1, 1],
    4: [2, 2, 2, 2, 1, 1, 1, 1],
    8: [2, 2, 4, 2, 1, 5, 7, 4],
}


def test_weight_is_blake2b_64_of_rig_nul_index():
    digest = hashlib.blake2b(b"rig0\x001", digest_size=8).digest()
    assert replica_weight("rig0", 1) == int.from_bytes(digest, "big")
    assert replica_weight("rig0", 0) == 3603514403874002296  # 0x3202414211e9d578


@pytest.mark.parametrize("replicas", sorted(EXPECTED))
def test_fixed_assignments(replicas):
    assert [rendezvous_replica(rig, replicas) for rig in RIGS] == EXPECTED[replicas]


def test_the_winner_has_the_highest_weight():
    for rig in RIGS:
        weights = [replica_weight(rig, i) for i in range(5)]
        assert rendezvous_replica(rig, 5) == weights.index(max(weights))


def test_one_more_replica_moves_only_the_rigs_it_wins_about_one_in_n_plus_one():
    rigs = [f"site{i}-rig{i % 7}" for i in range(3000)]
    for n in (1, 2, 3, 7):
        before = [rendezvous_replica(r, n) for r in rigs]
        after = [rendezvous_replica(r, n + 1) for r in rigs]
        moved = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
        assert all(a == n for _, a in moved)  # only to the new replica
        assert abs(len(moved) / len(rigs) - 1 / (n + 1)) < 0.03, (n, len(moved))
        shares = [after.count(i) / len(rigs) for i in range(n + 1)]
        assert max(shares) - min(shares) < 0.06, shares


def test_assign_pins_override_the_hash():
    assert replica_of("rig3", 2) == 0
    assert replica_of("rig3", 2, {"rig3": 1}) == 1
    assert replica_of("rig0", 2, {"rig3": 1}) == 1


@pytest.mark.parametrize(
    ("host", "ordinal"),
    [
        ("decoder-0", 0),
        ("stereo-decoder-12", 12),
        ("decoder-3.decoder.ns.svc", 3),
        ("decoder", None),
        ("decoder-", None),
        ("gpu7", None),
    ],
)
def test_ordinal_of_statefulset_host_names(host, ordinal):
    assert ordinal_of(host) == ordinal


def test_fill_endpoint():
    assert fill_endpoint("tcp://decoder-{index}.decoder:5555", 2) == "tcp://decoder-2.decoder:5555"
    with pytest.raises(ValueError, match="only \\{index\\}"):
        fill_endpoint("tcp://{host}:5555", 0)


def test_shard_command_prints_the_index_and_endpoints(capsys):
    assert shard_main(["rig7", "--replicas", "3"]) == 0
    assert capsys.readouterr().out == "1\n"
    template = "tcp://decoder-{index}.decoder:5555"
    assert shard_main(["rig3", "rig0", "--replicas", "2", "--endpoint", template]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "rig3 tcp://decoder-0.decoder:5555",
        "rig0 tcp://decoder-1.decoder:5555",
    ]
    assert shard_main(["rig3", "--replicas", "2", "--assign", "rig3=1"]) == 0
    assert capsys.readouterr().out == "1\n"


@pytest.mark.parametrize(
    ("argv", "key"),
    [
        (["r", "--replicas", "0"], "--replicas"),
        (["r", "--replicas", "2", "--assign", "r=2"], "--assign.r"),
        (["bad rig", "--replicas", "2"], "RIG"),
    ],
)
def test_shard_command_refuses_bad_input(argv, key):
    with pytest.raises(ConfigError) as e:
        shard_main(argv)
    assert e.value.key == key
