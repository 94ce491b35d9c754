"""``stereo-pipeline shard RIG [RIG ...] --replicas N``: which decoder replica serves a rig.

Prints the replica index (one rig) or ``RIG INDEX`` lines (several), by the rule of
:mod:`pipeline.sharding`; ``--endpoint TEMPLATE`` prints the template with ``{index}`` filled
instead. For hosts configured by hand (systemd: one decoder per host), e.g.::

    stereo-pipeline shard rig7 --replicas 3 --endpoint tcp://decoder{index}.example:5555
"""

from __future__ import annotations

import argparse

from pipeline.config import ConfigError
from pipeline.help_text import command_parser
from pipeline.sharding import MAX_REPLICAS, check_assign, fill_endpoint, replica_of
from pipeline.wire.protocol import ID_PATTERN


def _pin(text: str) -> tuple[str, int]:
    rig, sep, index = text.partition("=")
    if not sep or not index.isdigit():
        raise argparse.ArgumentTypeError(f"expected RIG=INDEX, got {text!r}")
    return rig, int(index)


def build_parser() -> argparse.ArgumentParser:
    """The shard command's argument parser."""
    parser = command_parser("stereo-pipeline shard", __doc__)
    parser.add_argument("rigs", nargs="+", metavar="RIG", help="rig id(s)")
    parser.add_argument("--replicas", type=int, required=True, help="decoder replica count")
    parser.add_argument(
        "--assign",
        type=_pin,
        action="append",
        default=[],
        metavar="RIG=INDEX",
        help="pin a rig to a replica, as [shard] assign does (repeatable)",
    )
    parser.add_argument("--endpoint", help="print this template with {index} filled")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Print each rig's replica (or endpoint); 2 with a one-line error on bad input."""
    args = build_parser().parse_args(argv)
    if not 1 <= args.replicas <= MAX_REPLICAS:
        raise ConfigError("--replicas", f"must be 1..{MAX_REPLICAS}, got {args.replicas}")
    if args.endpoint:
        fill_endpoint(args.endpoint, 0)
    assign = dict(args.assign)
    check_assign(assign, args.replicas, key="--assign")
    for rig in args.rigs:
        if not ID_PATTERN.fullmatch(rig):
            raise ConfigError("RIG", f"{rig!r} is not a rig id (1-64 chars of [A-Za-z0-9_.:+-])")
    for rig in args.rigs:
        index = replica_of(rig, args.replicas, assign)
        answer = fill_endpoint(args.endpoint, index) if args.endpoint else str(index)
        print(answer if len(args.rigs) == 1 else f"{rig} {answer}")
    return 0
