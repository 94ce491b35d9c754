"""pipeline.image_folders: the one listing of image folders and stereo sets."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.image_folders import images_in, stereo_pairs


def _touch(*paths: Path) -> None:
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")


def test_pairs_are_same_named_left_and_right_images_in_name_order(tmp_path: Path) -> None:
    left, right = tmp_path / "left", tmp_path / "right"
    _touch(left / "b.PNG", right / "b.PNG", left / "a.jpg", right / "a.jpg", left / "c.png")
    _touch(left / "notes.txt", right / "notes.txt", right / "d.png")
    assert stereo_pairs(tmp_path) == [
        (left / "a.jpg", right / "a.jpg"),
        (left / "b.PNG", right / "b.PNG"),
    ]
    assert stereo_pairs(tmp_path, suffixes=(".png",)) == [(left / "b.PNG", right / "b.PNG")]
    assert images_in(left) == [left / "a.jpg", left / "b.PNG", left / "c.png"]


def test_a_folder_without_pairs_is_named_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no left/ folder"):
        stereo_pairs(tmp_path)
    _touch(tmp_path / "left" / "a.png", tmp_path / "right" / "b.png")
    with pytest.raises(FileNotFoundError, match=f"{tmp_path}: no left/NAME with a matching right"):
        stereo_pairs(tmp_path)
