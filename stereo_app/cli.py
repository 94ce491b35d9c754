"""The ``stereo-pipeline`` command: one sub-command per part of the product.

:func:`entry_point` imports a sub-command's module when it runs, not before: ``eval``, ``train``
and ``export`` load torch as they import, the decoder as it starts, and a camera host has none
(``tests/integration/test_torch_free_camera.py``).
"""

from __future__ import annotations

import importlib.metadata
import sys
from collections.abc import Callable

from pipeline.codec.bitstream.errors import CodecError
from pipeline.preflight import LEARNED_HINT

#: Packages of the ``learned`` extra (pyproject.toml); a command that needs one names the extra.
LEARNED_PACKAGES = frozenset({"torch", "torchvision", "compressai", "numba", "pytorch_msssim"})

Run = Callable[[list[str]], int]
"""A sub-command's entry point: its arguments in, its exit status out."""

#: sub-command -> its one-line help, in the order ``--help`` lists them.
COMMANDS: dict[str, str] = {
    "encode": "encode an image into a bitstream",
    "decode": "decode a bitstream, optionally with side info",
    "camera": "run a camera node",
    "decoder": "run the decoder daemon",
    "demo": "run the whole pipeline on a synthetic stereo scene",
    "eval": "rate-distortion evaluation against other codecs",
    "train": "train a model",
    "export": "export a checkpoint to shipped weights",
    "keys": "generate CURVE keys for cameras and the decoder",
    "shard": "print the decoder replica that serves a rig",
}


def entry_point(command: str) -> Run:
    """The function that runs ``command`` (a key of :data:`COMMANDS`), its module imported now."""
    match command:
        case "encode" | "decode":
            from pipeline.codec import cli as codec_cli

            return {"encode": codec_cli.encode_main, "decode": codec_cli.decode_main}[command]
        case "camera":
            from camera_nodes.cli import main
        case "decoder":
            from decoder_node.cli import main
        case "demo":
            from stereo_app.demo import main
        case "eval":
            from pipeline.evaluation.cli import main
        case "train" | "export":
            from pipeline.training import cli as training_cli

            return {"train": training_cli.train_main, "export": training_cli.export_main}[command]
        case "keys":
            from pipeline.keygen import main
        case "shard":
            from stereo_app.shard_cli import main
        case _:
            raise KeyError(command)
    return main


def _usage() -> str:
    lines = ["usage: stereo-pipeline [--version] COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<8} {help_}" for name, help_ in COMMANDS.items()]
    lines += ["", "stereo-pipeline COMMAND --help describes a command's options."]
    return "\n".join(lines)


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
        return entry_point(argv[0])(argv[1:])
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
