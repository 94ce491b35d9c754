"""The encode/decode CLI: file round trips, channels kept, one-line errors."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from stereo_app.cli import main
from tests.conftest import natural_image


def _write(path, image: np.ndarray) -> str:
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
    cv2.imwrite(str(path), bgr)
    return str(path)


@pytest.mark.parametrize("channels", [1, 3])
def test_cli_round_trip_keeps_channels(tmp_path, channels):
    left = _write(tmp_path / "left.png", natural_image(60, 84, channels, 51))
    right = _write(tmp_path / "right.png", natural_image(60, 84, channels, 52))
    assert main(["encode", left, "-o", str(tmp_path / "l.sic"), "--quality", "3"]) == 0
    assert main(["encode", right, "-o", str(tmp_path / "r.sic"), "--role", "side"]) == 0
    for side in (None, str(tmp_path / "r.sic"), right):
        out = tmp_path / "out.png"
        args = ["decode", str(tmp_path / "l.sic"), "-o", str(out)]
        assert main(args + (["--side-info", side] if side else [])) == 0
        decoded = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
        assert decoded.shape == ((60, 84) if channels == 1 else (60, 84, 3))


@pytest.mark.parametrize(
    "args",
    [
        ["decode", "{png}", "-o", "{out}"],
        ["decode", "{missing}", "-o", "{out}"],
        ["encode", "{missing}", "-o", "{out}"],
        ["encode", "{png}", "-o", "{out}", "--quality", "99"],
        ["encode", "{png}", "-o", "{out}", "--model", "nope"],
    ],
)
def test_cli_bad_input_exits_nonzero_with_one_line(tmp_path, capsys, args):
    png = _write(tmp_path / "a.png", natural_image(20, 20, 3, 53))
    names = {"png": png, "out": str(tmp_path / "o.png"), "missing": str(tmp_path / "none.png")}
    assert main([a.format(**names) for a in args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "error" in err and "Traceback" not in err


def test_cli_decode_of_a_video_container_says_it_decodes_only_in_its_stream(tmp_path, capsys):
    png = _write(tmp_path / "a.png", natural_image(48, 64, 3, 54))
    coded = str(tmp_path / "a.sic")
    assert main(["encode", png, "-o", coded, "--codec", "h264"]) == 0
    capsys.readouterr()
    assert main(["decode", coded, "-o", str(tmp_path / "o.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert "h264-si2 view is decoded at receive, in its stream" in err and "\n" not in err
