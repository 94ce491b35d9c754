"""Every command's help (``stereo-pipeline`` and the ``python -m`` training tools): each option
described, plain text; and ``stereo-pipeline --version``."""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import re
from collections.abc import Callable

import pytest

from stereo_app.cli import COMMANDS, main

#: reStructuredText that should never reach a terminal: double backquotes and roles.
RST = re.compile(r"``|:(mod|class|func|meth|data|attr):`")

#: The ``python -m`` tools that docs/models.md and deploy/gpu/*.sh run.
TOOLS = [
    f"pipeline.training.{name}"
    for name in (
        "surgery.widen",
        "surgery.graft",
        "surgery.guide",
        "surgery.levels",
        "surgery.calibrate",
        "data.pack",
        "standard.prepare",
        "standard.prepare_video",
        "standard.train",
        "standard.calibrate",
        "standard.export",
        "standard.measure",
    )
]


def _parsers_of(
    run_help: Callable[[], object], monkeypatch: pytest.MonkeyPatch
) -> list[argparse.ArgumentParser]:
    """The parser ``run_help()`` prints the help of, and its sub-command parsers."""
    shown: list[argparse.ArgumentParser] = []
    original = argparse.ArgumentParser.print_help

    def record(self: argparse.ArgumentParser, file=None) -> None:
        shown.append(self)
        original(self, file)

    monkeypatch.setattr(argparse.ArgumentParser, "print_help", record)
    with pytest.raises(SystemExit) as exited:
        run_help()
    assert exited.value.code == 0 and len(shown) == 1
    parsers = list(shown)
    for parser in parsers:  # grows as sub-commands are found
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                parsers += list(action.choices.values())
    return parsers


def _check(parsers: list[argparse.ArgumentParser]) -> None:
    for parser in parsers:
        undocumented = [
            action.option_strings[-1] if action.option_strings else action.dest
            for action in parser._actions
            if not isinstance(action, argparse._HelpAction)
            and not (action.help and action.help.strip())
        ]
        assert not undocumented, f"{parser.prog}: options without help: {undocumented}"
        text = parser.format_help()
        assert not RST.search(text), f"{parser.prog}: reStructuredText in the help:\n{text}"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_option_has_help_and_the_help_is_plain_text(command, monkeypatch, capsys):
    _check(_parsers_of(lambda: main([command, "--help"]), monkeypatch))
    assert capsys.readouterr().out.startswith(f"usage: stereo-pipeline {command}")


@pytest.mark.parametrize("tool", TOOLS)
def test_every_tool_option_has_help_and_the_help_is_plain_text(tool, monkeypatch, capsys):
    module = importlib.import_module(tool)
    _check(_parsers_of(lambda: module.main(["--help"]), monkeypatch))
    assert capsys.readouterr().out.startswith(f"usage: python -m {tool}")


def test_version_is_the_installed_package_version(capsys):
    for flag in ("--version", "-V"):
        assert main([flag]) == 0
        expected = importlib.metadata.version("stereo-pipeline")
        assert capsys.readouterr().out == f"stereo-pipeline {expected}\n"
