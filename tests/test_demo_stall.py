"""The demo's stall detector: streaming stops when nothing has moved for a while."""

from __future__ import annotations

from stereo_app.demo.cli import build_parser, main
from stereo_app.demo.status import Stall


def test_stall_only_after_no_change_for_the_whole_window():
    stall = Stall(10.0, now=0.0)
    assert not stall.stalled(0, now=0.0)
    assert not stall.stalled(0, now=9.9)
    assert stall.stalled(0, now=10.0)


def test_progress_restarts_the_window():
    stall = Stall(10.0, now=0.0)
    stall.stalled(0, now=0.0)
    assert not stall.stalled(5, now=9.0)
    assert not stall.stalled(5, now=18.9)
    assert stall.stalled(5, now=19.0)


def test_defaults_wait_on_progress_not_a_short_deadline():
    args = build_parser().parse_args([])
    assert args.stall == 60.0 and args.timeout >= 600.0


def test_bad_stall_is_refused(capsys):
    assert main(["--stall", "0"]) == 2
    assert "--stall" in capsys.readouterr().err
