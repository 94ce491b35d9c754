"""The ``stereo-pipeline`` command: one sub-command per part of the product."""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
from collections.abc import Callable

from pipeline.codec.errors import CodecError
from pipeline.preflight import LEARNED_HINT

#: Packages of the ``learned`` extra (pyproject.toml); a command that needs one names the extra.
LEARNED_PACKAGES = frozenset({"torch", "torchvision", "compressai", "numba", "pytorch_msssim"})

#: sub-command -> (module, function, one-line help). The modules are named as strings and imported
#: only when their command runs; naming camera_nodes and decoder_node here is dispatch, not a
#: dependency: nothing in ``pipeline/`` imports them (tests/test_layers.py checks it).
COMMANDS: dict[str, tuple[str, str, str]] = {
    "encode": ("pipeline.codec.cli", "encode_main", "encode an image into a bitstream"),
    "decode": (
        "pipeline.codec.cli",
        "decode_main",
        "decode a bitstream, optionally with side info",
    ),
    "camera": ("camera_nodes.cli", "main", "run a camera node"),
    "decoder": ("decoder_node.cli", "main", "run the decoder daemon"),
    "demo": ("stereo_app.demo", "main", "run the whole pipeline on a synthetic stereo scene"),
    "eval": ("pipeline.evaluation.cli", "main", "rate-distortion evaluation against other codecs"),
    "train": ("pipeline.training.cli", "train_main", "train a model"),
    "export": ("pipeline.training.cli", "export_main", "export a checkpoint to shipped weights"),
    "keys": ("pipeline.security", "main", "generate CURVE keys for cameras and the decoder"),
    "shard": ("stereo_app.shard_cli", "main", "print the decoder replica that serves a rig"),
}


def _usage() -> str:
    lines = ["usage: stereo-pipeline [--version] COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<8} {help_}" for name, (_, _, help_) in COMMANDS.items()]
    lines += ["", "stereo-pipeline COMMAND --help describes a command's options."]
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
    if argv[0] in ("-V", "--version"):
        print(f"stereo-pipeline {version()}")
        return 0
    if argv[0] not in COMMANDS:
        print(f"stereo-pipeline: unknown command {argv[0]!r}\n{_usage()}", file=sys.stderr)
        return 2
    try:
        return _resolve(argv[0])(argv[1:])
    except (CodecError, ValueError, OSError) as e:
        print(f"stereo-pipeline {argv[0]}: error: {e}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as e:
        if (e.name or "").split(".")[0] not in LEARNED_PACKAGES:
            raise
        print(
            f"stereo-pipeline {argv[0]}: error: {e.name} is missing; install {LEARNED_HINT}",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        return 130


def version() -> str:
    """The installed package's version (``unknown`` when run from a checkout not installed)."""
    try:
        return importlib.metadata.version("stereo-pipeline")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
