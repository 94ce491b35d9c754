"""Run ``stereo-pipeline`` as on a camera host without the ``learned`` extra.

    python -m tests.integration.without_torch camera --config left.toml
    python -m tests.integration.without_torch --only numba decoder --config decoder.toml
    python -m tests.integration.without_torch --distributions camera --config h264.toml

A meta-path finder placed first makes torch, torchvision, CompressAI, numba, pytorch_msssim and
matplotlib (or, with ``--only NAME``, that package alone) unimportable (``ModuleNotFoundError``,
as when they are not installed), then the
command runs as ``stereo-pipeline`` would. On exit it prints the blocked imports that were
attempted (``blocked: ...``) to stderr, so a test sees a lazy import that was tried and caught;
with ``--distributions`` also the installed distributions whose modules the command imported
(``distributions: ...``), so a test sees what a host must install for it.
"""

from __future__ import annotations

import importlib.abc
import importlib.metadata
import sys

BLOCKED = frozenset({"torch", "torchvision", "compressai", "numba", "pytorch_msssim", "matplotlib"})


class LearnedExtraBlocker(importlib.abc.MetaPathFinder):
    """Refuses every module of ``blocked`` (default :data:`BLOCKED`) and records the attempts."""

    def __init__(self, blocked: frozenset[str] = BLOCKED) -> None:
        self.blocked = blocked
        self.attempts: list[str] = []

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        if fullname.split(".")[0] in self.blocked:
            self.attempts.append(fullname)
            raise ModuleNotFoundError(f"No module named {fullname!r} (blocked)", name=fullname)


def imported_distributions(before: set[str]) -> list[str]:
    """The installed distributions owning the modules imported since ``sys.modules`` held
    ``before`` (a ``.pth`` file's imports at start-up are not the command's)."""
    owners = importlib.metadata.packages_distributions()
    tops = {name.split(".")[0] for name in set(sys.modules) - before}
    return sorted({owner for top in tops for owner in owners.get(top, ())})


def main(argv: list[str]) -> int:
    """Run the ``stereo-pipeline`` command ``argv`` with the blocker installed (``--only NAME``
    first: block that package alone; then ``--distributions``: report them on exit)."""
    blocked = BLOCKED
    if argv[:1] == ["--only"]:
        blocked, argv = frozenset({argv[1]}), argv[2:]
    report = argv[:1] == ["--distributions"]
    argv = argv[1:] if report else argv
    before = set(sys.modules)
    blocker = LearnedExtraBlocker(blocked)
    sys.meta_path.insert(0, blocker)
    already = sorted(m for m in sys.modules if m.split(".")[0] in blocked)
    if already:
        raise SystemExit(f"imported before the blocker: {already}")
    from stereo_app.cli import main as cli_main

    try:
        return cli_main(argv)
    finally:
        print(f"blocked: {','.join(blocker.attempts) or '-'}", file=sys.stderr)
        if report:
            print(f"distributions: {','.join(imported_distributions(before))}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
