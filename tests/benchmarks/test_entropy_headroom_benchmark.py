from __future__ import annotations

import json

import cv2
import numpy as np

from benchmarks.entropy_headroom import main


def _texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    smooth = cv2.GaussianBlur(rng.uniform(0, 255, (height, width, 3)), (0, 0), 3)
    return np.clip(smooth * 3 - 255, 0, 255).astype(np.uint8)


def _folders(tmp_path):
    rng = np.random.default_rng(0)
    train = tmp_path / "train"
    train.mkdir(parents=True)
    for index in range(2):
        cv2.imwrite(str(train / f"{index}.png"), _texture(rng, 80, 96))
    roots = []
    for name, (height, width) in {"padded": (72, 100), "exact": (64, 128)}.items():
        for side in ("left", "right"):
            (tmp_path / name / side).mkdir(parents=True)
            cv2.imwrite(str(tmp_path / name / side / "000000.png"), _texture(rng, height, width))
        roots.append(str(tmp_path / name))
    return str(train), roots


def _run(tmp_path, steps: int) -> dict:
    train, roots = _folders(tmp_path / str(steps))
    out = tmp_path / f"{steps}.json"
    args = ["--train", train, "--pairs", *roots, "--crops", "6", "--crop", "64"]
    main([*args, "--qualities", "2", "9", "--steps", str(steps), "--out", str(out)])
    return json.loads(out.read_text())


def test_untrained_context_codes_as_the_hyperprior_and_padding_is_split_out(tmp_path):
    report = _run(tmp_path, 0)
    rows = {(row["set"], row["quality"]): row for row in report["rows"]}
    assert set(rows) == {(s, q) for s in ("padded", "exact") for q in (2, 9)}
    for row in rows.values():
        assert row["bpp_y_context"] == row["bpp_y_hyperprior"] > 0
        assert row["saving_context_pct"] == 0.0
        assert row["bpp_z"] > 0
    # 72 rows are coded as 128 (4 of 8 latent rows, 100 columns as 128: 7 of 8 columns).
    assert rows["padded", 9]["bpp_y_padding"] > 0
    assert rows["exact", 9]["bpp_y_padding"] == 0
    assert rows["padded", 9]["bpp_y_hyperprior"] > rows["padded", 2]["bpp_y_hyperprior"]


def test_fitting_moves_the_context_model_and_reports_its_steps(tmp_path):
    report = _run(tmp_path, 3)
    assert report["training"]["steps"] == 3
    assert report["environment"]["torch"]
    assert any(row["bpp_y_context"] != row["bpp_y_hyperprior"] for row in report["rows"])
