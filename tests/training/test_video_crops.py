"""Video training crops for si-std2: clips and their split, camera streams, stored crops, the
crop bank's codec mapping, starting from a weights file, calibrating and measuring."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from pipeline.codec.model.si_standard import StandardSIConfig, StandardSINet, export_standard_net
from pipeline.codec.standard import CODEC_NAMES
from pipeline.codec.video import VIDEO_CODECS
from pipeline.training.standard import clips as clips_module
from pipeline.training.standard.calibrate import VIDEO_CRFS, fit_scales, video_items
from pipeline.training.standard.clips import Clip, clip_frames, clips, moving_still
from pipeline.training.standard.export import weights_name
from pipeline.training.standard.measure import crop_gains
from pipeline.training.standard.prepare_video import CRF_RANGE, code_stream, prepare_clip
from pipeline.training.standard.train import CropBank, from_weights
from tests.conftest import natural_image, psnr

VIDEO_NET = StandardSIConfig(width=8, codecs=VIDEO_CODECS)


def _sequence(folder: Path, frames: int, size: tuple[int, int] = (64, 48)) -> Path:
    """A grey stereo sequence of a scene panning right 2 px a frame, disparity 4, odd-sized
    (as real sets are) to check the cut to an even size."""
    scene = natural_image(size[1] + 1, size[0] + 4 + 2 * frames, 1, seed=3)
    for side in ("left", "right"):
        (folder / side).mkdir(parents=True)
    for i in range(frames):
        left = scene[:, 4 + 2 * i : 4 + 2 * i + size[0] + 1]
        right = scene[:, 2 * i : 2 * i + size[0] + 1]
        cv2.imwrite(str(folder / "left" / f"{i:06d}.png"), left)
        cv2.imwrite(str(folder / "right" / f"{i:06d}.png"), right)
    return folder


def test_clips_hold_out_each_sequences_tail_and_every_nth_still(tmp_path):
    seq = _sequence(tmp_path / "seq", 12)
    still = _sequence(tmp_path / "still", 5)
    train = clips([seq], [still], [], 5, 4, 5, "train")
    held = clips([seq], [still], [], 5, 4, 5, "holdout")
    tail = next(c for c in held if c.name == "seq_tail")
    assert [p[0].name for p in tail.pairs] == ["000010.png", "000011.png"]  # the last fifth
    trained = {p[0].name for c in train if c.name.startswith("seq_") for p in c.pairs}
    assert trained == {f"{i:06d}.png" for i in range(10)}
    assert all(len(c.pairs) <= 4 for c in train if not c.still and c.scene is None)
    # stills and scenes: 10 clips, every fifth held out, none in both splits
    moved = [c.name for c in train + held if c.still or c.scene is not None]
    assert sorted(moved) == sorted({*moved}) and len(moved) == 10
    assert {c.name for c in held} == {"seq_tail", "still_000004", "scene_4"}


def test_a_moving_still_pans_both_views_alike_at_an_even_size(monkeypatch):
    monkeypatch.setattr(clips_module, "MAX_NOISE", 0.0)
    image = natural_image(101, 151, 3, seed=1)
    frames = moving_still(image, image.copy(), 6, np.random.default_rng(0))
    assert len(frames) == 6
    for left, right in frames:
        assert left.shape == (80, 120, 3) and np.array_equal(left, right)
    assert all(not np.array_equal(a[0], b[0]) for a, b in itertools.pairwise(frames))


def test_a_real_sequence_clip_reads_its_frames_in_order_cut_even(tmp_path):
    seq = _sequence(tmp_path / "seq", 3)
    (clip,) = clips([seq], [], [], 0, 10, 0, "train")
    frames = clip_frames(clip, np.random.default_rng(0))
    assert [f[0].shape for f in frames] == [(48, 64)] * 3
    assert np.array_equal(frames[1][0][:, :-2], frames[0][0][:, 2:])  # the pan, in order


@pytest.mark.parametrize("codec", VIDEO_CODECS)
def test_a_view_is_coded_as_a_camera_stream_with_keyframes_each_second(codec):
    images = [natural_image(48, 64, 1, seed=2)[:, i : i + 56].copy() for i in range(6)]
    decoded, keyframes = code_stream(codec, CRF_RANGE[codec][0], images, fps=4.0)
    assert keyframes == [True, False, False, False, True, False]
    for image, out in zip(images, decoded, strict=True):
        assert out.shape == image.shape and psnr(image, out) > 28


def test_prepared_video_crops_are_labelled_and_mapped_to_the_nets_codecs(tmp_path):
    seq = _sequence(tmp_path / "seq", 4)
    (clip,) = clips([seq], [], [], 0, 10, 0, "train")
    out = tmp_path / "data"
    out.mkdir()
    options = {"crfs": 1, "frames": 4, "crops": 1, "crop": 32, "fps": 2.0}
    assert prepare_clip((clip, out, options)) == f"{clip.name}: 12 crops (6 from keyframes)"
    with np.load(out / f"{clip.name}.npz") as data:
        assert data["stack"].shape == (12, 10, 32, 32)
        assert data["codecs"].tolist() == list(VIDEO_CODECS)
        for index, quality in zip(data["codec"], data["quality"], strict=True):
            low, high = CRF_RANGE[VIDEO_CODECS[index]]
            assert low <= 100 - quality <= high
        assert data["keyframe"].tolist() == [True, False] * 6  # keyframes at 0 and 2 (2 fps)
    bank = CropBank(out, 32, ("av1", "hevc", "h264"))  # the net's order, not the file's
    assert sorted(bank.codecs.tolist()) == [0] * 4 + [1] * 4 + [2] * 4
    assert bank.codecs[0] == 2  # the file's first crops are h264
    with pytest.raises(FileNotFoundError):
        CropBank(out, 32)  # an image-codec net has nothing to learn from them


def test_a_run_starts_from_a_weights_file_with_its_codecs_and_unit_scales(tmp_path):
    torch.manual_seed(0)
    net = StandardSINet(VIDEO_NET)
    net.codec_scale.fill_(0.5)
    path = export_standard_net(net, "si-std2", tmp_path)
    model = from_weights(path)
    assert model.config.codecs == VIDEO_CODECS and model.training
    assert torch.equal(model.codec_scale, torch.ones_like(model.codec_scale))
    for name, value in net.net.state_dict().items():
        assert torch.equal(model.net.state_dict()[name], value.half().float()), name


def test_video_calibration_fits_each_codec_on_its_own_crf_grid(tmp_path):
    torch.manual_seed(0)
    net = StandardSINet(VIDEO_NET).eval()
    torch.nn.init.normal_(net.net.body[-1].weight, std=0.05)
    seq = _sequence(tmp_path / "seq", 3)
    crfs = {"h264": (20, 30), "av1": (30, 45)}
    items = list(video_items(net.config.codecs, [Clip("seq", tuple(_pairs(seq)))], crfs, 2))
    assert [(i.codec, i.quality) for i in items[:4]] == [(0, 80), (0, 80), (0, 70), (0, 70)]
    assert {i.codec for i in items} == {0, 2}  # hevc not asked for
    grids = [(70, 80), (58, 80), (55, 70)]
    scales = fit_scales(net, iter(items), grids)
    assert scales.shape == (3, 101) and bool(((scales >= 0) & (scales <= 1)).all())
    for c, grid in enumerate(grids):  # flat outside each codec's own grid
        assert scales[c, 0] == scales[c, grid[0]] and scales[c, 100] == scales[c, grid[-1]]
    assert torch.equal(scales[1], torch.zeros(101))  # no hevc frames: no residual
    assert VIDEO_CRFS.keys() == CRF_RANGE.keys()


def _pairs(folder: Path) -> list[tuple[Path, Path]]:
    return [(p, folder / "right" / p.name) for p in sorted((folder / "left").glob("*.png"))]


def test_a_net_with_no_residual_gains_nothing_on_any_crop(tmp_path):
    seq = _sequence(tmp_path / "seq", 3)
    (clip,) = clips([seq], [], [], 0, 10, 0, "train")
    (tmp_path / "data").mkdir()
    options = {"crfs": 1, "frames": 3, "crops": 1, "crop": 32, "fps": 10.0}
    prepare_clip((clip, tmp_path / "data", options))
    net = StandardSINet(VIDEO_NET).eval()
    torch.nn.init.zeros_(net.net.body[-1].weight)
    torch.nn.init.zeros_(net.net.body[-1].bias)
    gains = crop_gains(net, tmp_path / "data")
    assert set(gains) == {f"{c}{k}" for c in VIDEO_CODECS for k in ("", "_keyframe", "_inter")}
    assert all(abs(g) < 1e-6 for g in gains.values())


def test_export_names_the_weights_after_the_family_of_the_nets_codecs():
    assert weights_name(VIDEO_CODECS) == "si-std2"
    assert weights_name(CODEC_NAMES) == "si-std1"
    with pytest.raises(ValueError, match="no codec family"):
        weights_name(("h264", "jpeg"))


@pytest.mark.skipif(os.geteuid() != 0, reason="SVT-AV1 raises the priority only as root")
def test_coding_an_av1_stream_leaves_the_threads_scheduling_as_it_was():
    before = os.sched_getscheduler(0), os.sched_getparam(0).sched_priority
    code_stream("av1", 40, [natural_image(48, 64, 1, seed=4)] * 2, fps=10.0)
    assert (os.sched_getscheduler(0), os.sched_getparam(0).sched_priority) == before
