"""Command help as plain text: the parsers of every ``stereo-pipeline`` command come from here,
and :func:`options` hands their parsed options on to the objects a command builds.

Module and function docstrings are written in reStructuredText (``literal``, :mod:`module`);
``--help`` shows them as plain text with their paragraphs and example lines kept.
"""

from __future__ import annotations

import argparse
import inspect
import re
from typing import Any

_ROLE = re.compile(r":[a-z]+:`(~?)([^`]+)`")
_LITERAL = re.compile(r"``([^`]+)``")


def plain(doc: str | None) -> str:
    """``doc`` dedented, with reStructuredText roles and double backquotes removed."""
    text = inspect.cleandoc(doc or "")
    text = _ROLE.sub(lambda m: m.group(2).rsplit(".", 1)[-1] if m.group(1) else m.group(2), text)
    return _LITERAL.sub(r"\1", text)


def command_parser(prog: str, doc: str | None) -> argparse.ArgumentParser:
    """An argument parser for ``prog`` whose description is ``doc`` as plain text."""
    return argparse.ArgumentParser(
        prog=prog, description=plain(doc), formatter_class=argparse.RawDescriptionHelpFormatter
    )


def options(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    """``{name: args.name}`` for each of ``names``: options a constructor takes as parsed (pass
    the renamed or computed ones beside them)."""
    return {name: getattr(args, name) for name in names}
