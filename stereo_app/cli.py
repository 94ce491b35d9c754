"""The ``stereo-pipeline`` command: one sub-command per part of the product.

Each sub-command imports its module when it runs, not before: the decoder, ``eval``, ``train``
and ``export`` load torch, and a camera host has none
(``tests/integration/test_torch_free_camera.py``).
"""

from __future__ import annotations

import importlib.metadata
import sys
from collections.abc import Callable
from dataclasses import dataclass

from pipeline.codec.errors import CodecError
from pipeline.preflight import LEARNED_HINT

#: Packages of the ``learned`` extra (pyproject.toml); a command that needs one names the extra.
LEARNED_PACKAGES = frozenset({"torch", "torchvision", "compressai", "numba", "pytorch_msssim"})

Run = Callable[[list[str]], int]
"""A sub-command's entry point: its arguments in, its exit status out."""


@dataclass(frozen=True)
class Command:
    """One sub-command: its one-line help and the function that runs it."""

    help: str
    run: Run


#: sub-command -> :class:`Command`, in the order ``--help`` lists them.
COMMANDS: dict[str, Command] = {}


def _command(name: str, help_: str) -> Callable[[Run], Run]:
    def register(run: Run) -> Run:
        COMMANDS[name] = Command(help_, run)
        return run

    return register


@_command("encode", "encode an image into a bitstream")
def _encode(argv: list[str]) -> int:
    from pipeline.codec.cli import encode_main

    return encode_main(argv)


@_command("decode", "decode a bitstream, optionally with side info")
def _decode(argv: list[str]) -> int:
    from pipeline.codec.cli import decode_main

    return decode_main(argv)


@_command("camera", "run a camera node")
def _camera(argv: list[str]) -> int:
    from camera_nodes.cli import main as camera_main

    return camera_main(argv)


@_command("decoder", "run the decoder daemon")
def _decoder(argv: list[str]) -> int:
    from decoder_node.cli import main as decoder_main

    return decoder_main(argv)


@_command("demo", "run the whole pipeline on a synthetic stereo scene")
def _demo(argv: list[str]) -> int:
    from stereo_app.demo import main as demo_main

    return demo_main(argv)


@_command("eval", "rate-distortion evaluation against other codecs")
def _eval(argv: list[str]) -> int:
    from pipeline.evaluation.cli import main as eval_main

    return eval_main(argv)


@_command("train", "train a model")
def _train(argv: list[str]) -> int:
    from pipeline.training.cli import train_main

    return train_main(argv)


@_command("export", "export a checkpoint to shipped weights")
def _export(argv: list[str]) -> int:
    from pipeline.training.cli import export_main

    return export_main(argv)


@_command("keys", "generate CURVE keys for cameras and the decoder")
def _keys(argv: list[str]) -> int:
    from pipeline.security import main as keys_main

    return keys_main(argv)


@_command("shard", "print the decoder replica that serves a rig")
def _shard(argv: list[str]) -> int:
    from stereo_app.shard_cli import main as shard_main

    return shard_main(argv)


def _usage() -> str:
    lines = ["usage: stereo-pipeline [--version] COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<8} {command.help}" for name, command in COMMANDS.items()]
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
        return COMMANDS[argv[0]].run(argv[1:])
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
