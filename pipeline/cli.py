"""The ``stereo-pipeline`` command: one sub-command per part of the product."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

from pipeline.codec.errors import CodecError

#: sub-command -> (module, function, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "encode": ("pipeline.codec.cli", "encode_main", "encode an image into a bitstream"),
    "decode": (
        "pipeline.codec.cli",
        "decode_main",
        "decode a bitstream, optionally with side info",
    ),
    "camera": ("camera_nodes.cli", "main", "run a camera node"),
    "decoder": ("decoder_node.cli", "main", "run the decoder daemon"),
    "demo": ("pipeline.demo", "main", "run the whole pipeline on a synthetic stereo scene"),
    "eval": ("pipeline.evaluation.cli", "main", "rate-distortion evaluation against other codecs"),
    "train": ("pipeline.training.cli", "train_main", "train a model"),
    "export": ("pipeline.training.cli", "export_main", "export a checkpoint to shipped weights"),
    "keys": ("pipeline.security", "main", "generate CURVE keys for cameras and the decoder"),
    "shard": ("pipeline.shard_cli", "main", "print the decoder replica that serves a rig"),
}


def _usage() -> str:
    lines = ["usage: stereo-pipeline COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<8} {help_}" for name, (_, _, help_) in COMMANDS.items()]
    return "\n".join(lines)


def _resolve(name: str) -> Callable[[list[str]], int]:
    module, function, _ = COMMANDS[name]
    return getattr(importlib.import_module(module), function)


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a sub-command; bad input exits 2 with a one-line error, no traceback."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0 if argv else 2
    if argv[0] not in COMMANDS:
        print(f"stereo-pipeline: unknown command {argv[0]!r}\n{_usage()}", file=sys.stderr)
        return 2
    try:
        return _resolve(argv[0])(argv[1:])
    except (CodecError, ValueError, OSError) as e:
        print(f"stereo-pipeline {argv[0]}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
