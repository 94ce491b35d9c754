"""Packing training folders for the GPU machine: layout the trainer reads, sizes, half copies."""

from __future__ import annotations

import cv2
import numpy as np

from pipeline.training.data.datasets import ImageFolderCrops, StereoPairFolder
from pipeline.training.data.pack import main, shrink
from tests.conftest import natural_image


def test_shrink_caps_the_longer_side_and_keeps_small_images():
    image = np.zeros((300, 1200, 3), np.uint8)
    assert shrink(image, 600).shape == (150, 600, 3)
    assert shrink(image, 2000) is image


def test_packed_folders_are_what_the_trainer_reads(tmp_path):
    natural, stereo = tmp_path / "natural" / "photos", tmp_path / "stereo" / "rig"
    natural.mkdir(parents=True)
    cv2.imwrite(str(natural / "big.png"), natural_image(600, 800, 3, 0))
    cv2.imwrite(str(natural / "small.png"), natural_image(100, 120, 3, 1))
    for view, shift in (("left", 0), ("right", 8)):
        (stereo / view).mkdir(parents=True)
        grey = natural_image(120, 140, 1, 2)[:, shift : shift + 128]
        cv2.imwrite(str(stereo / view / "000000.png"), grey)
    out = tmp_path / "packed"
    args = ["--natural", str(natural), "--stereo", str(stereo), "--out", str(out)]
    assert main([*args, "--max-side", "700", "--min-side", "128"]) == 0
    packed = sorted(p.name for p in (out / "natural" / "photos").iterdir())
    assert packed == ["big.jpg", "big_half.jpg", "small.jpg"]
    assert cv2.imread(str(out / "natural" / "photos" / "big.jpg")).shape == (525, 700, 3)
    assert cv2.imread(str(out / "natural" / "photos" / "big_half.jpg")).shape[:2] == (262, 350)
    left = cv2.imread(str(out / "stereo" / "rig" / "left" / "000000.jpg"), cv2.IMREAD_UNCHANGED)
    assert left.shape == (120, 128)  # grey stays grey, unscaled
    assert len(ImageFolderCrops([out / "natural" / "photos"], (64, 64))) == 3
    left_crop, right_crop = StereoPairFolder([out / "stereo" / "rig"], (64, 64))[0]
    assert left_crop.shape == right_crop.shape == (3, 64, 64)
