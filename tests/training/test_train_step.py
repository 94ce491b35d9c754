"""A real training step on tiny images: finite loss, weights move, runs resume, export loads."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
import torch

from pipeline.codec.model import registry
from pipeline.codec.model.dsin import CodecConfig, DsinCodec
from pipeline.training.cli import export_main, train_main
from pipeline.training.loop.loss import bits_per_pixel, codec_loss, joint_loss, si_loss
from pipeline.training.loop.trainer import TrainConfig, Trainer
from tests.conftest import natural_image

TINY = CodecConfig(n=16, n_a=16, n_h=16, m=16, nz=16, groups=2, si_width=8)


def _pairs(count: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    images = [
        torch.from_numpy(natural_image(64, 80, 3, s)).permute(2, 0, 1) / 255 for s in range(count)
    ]
    left = torch.stack([i[:, :, :64] for i in images])
    right = torch.stack([i[:, :, 16:] for i in images])
    return left, right


def _steps_and_moved(trainer: Trainer, steps: int) -> tuple[set[str], dict, dict]:
    """Run ``steps`` training steps; the state keys that changed, and the states before/after."""
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    for _ in range(steps):
        trainer.step(*_pairs())
    after = trainer.model.state_dict()
    return {k for k, v in after.items() if not torch.equal(v, before[k])}, before, after


def test_one_training_step_moves_the_weights_and_resumes(tmp_path):
    torch.manual_seed(0)
    trainer = Trainer(DsinCodec(TINY), TrainConfig(out_dir=str(tmp_path), lr=1e-3))
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    stats = trainer.step(*_pairs())
    assert all(torch.isfinite(torch.tensor(v)) for v in stats.values())
    moved = [k for k, v in trainer.model.state_dict().items() if not torch.equal(v, before[k])]
    assert any(k.startswith("g_a.") for k in moved) and any(k.startswith("si_net.") for k in moved)
    trainer.save()
    again = Trainer(DsinCodec(TINY), TrainConfig(out_dir=str(tmp_path)))
    assert again.resume() and again.step_count == 1
    assert torch.equal(again.model.g_a[1].weight, trainer.model.g_a[1].weight)


def _write_pairs(root: Path) -> None:
    for side, shift in (("left", 0), ("right", 12)):
        (root / side).mkdir(parents=True)
        for i in range(2):
            image = natural_image(140, 160, 3, i)[:, shift : shift + 140]
            cv2.imwrite(str(root / side / f"{i:06d}.png"), image)


def test_train_and_export_commands_on_tiny_folders(tmp_path, monkeypatch):
    monkeypatch.setitem(
        registry.REGISTRY, "tiny", registry.ModelSpec("tiny", TINY, 1, summary="test model")
    )
    _write_pairs(tmp_path / "pairs")
    run = tmp_path / "run"
    args = ["--model", "tiny", "--pairs", str(tmp_path / "pairs"), "--out", str(run)]
    assert (
        train_main([*args, "--steps", "2", "--crop", "64", "--batch", "2", "--device", "cpu"]) == 0
    )
    assert (run / "checkpoint.pt").exists()
    weights = tmp_path / "weights"
    assert (
        export_main([str(run / "checkpoint.pt"), "--model", "tiny", "--out-dir", str(weights)]) == 0
    )
    loaded = registry.load("tiny", weights)
    assert loaded.model.gaussian_conditional._quantized_cdf.numel() > 0
    assert registry.weights_path("tiny", weights).stem == f"tiny-{loaded.weights_hash}"


def test_freeze_codec_trains_only_the_si_net(tmp_path):
    torch.manual_seed(1)
    config = TrainConfig(out_dir=str(tmp_path), lr=1e-3, freeze_codec=True)
    moved, _, _ = _steps_and_moved(Trainer(DsinCodec(TINY), config), 2)
    assert moved and all(k.startswith("si_net.") for k in moved)


def test_codec_only_trains_the_codec_and_leaves_the_si_net(tmp_path):
    torch.manual_seed(2)
    trainer = Trainer(DsinCodec(TINY), TrainConfig(out_dir=str(tmp_path), codec_only=True))
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    stats = trainer.step(*_pairs())
    assert "psnr_si" not in stats and stats["psnr_dec"] > 0
    moved = {k for k, v in trainer.model.state_dict().items() if not torch.equal(v, before[k])}
    assert any(k.startswith("g_s.") for k in moved)
    assert not any(k.startswith("si_net.") for k in moved)
    assert "entropy_bottleneck.quantiles" in moved  # the aux loss trains in this mode


def test_codec_loss_is_rate_plus_weighted_distortion_of_both_views():
    torch.manual_seed(3)
    model = DsinCodec(TINY).train()
    left, right = _pairs()
    levels, side_levels = torch.tensor([0, 2]), torch.tensor([3, 1])
    torch.manual_seed(4)  # the same uniform noise in both forward passes
    terms = codec_loss(model, left, right, levels, side_levels)
    torch.manual_seed(4)
    both = model(torch.cat([left, right]), torch.cat([levels, side_levels]))
    bpp = bits_per_pixel(both.likelihoods, 64 * 64)
    mse = ((both.x_dec - torch.cat([left, right])) ** 2).flatten(1).mean(1)
    lambdas = torch.tensor(TINY.lambdas)[torch.cat([levels, side_levels])] * 255**2
    assert terms.loss.item() == pytest.approx((bpp + lambdas * mse).mean().item(), rel=1e-5)


def test_codec_only_and_freeze_codec_exclude_each_other(tmp_path):
    with pytest.raises(ValueError, match="train nothing"):
        Trainer(
            DsinCodec(TINY), TrainConfig(out_dir=str(tmp_path), codec_only=True, freeze_codec=True)
        )
    with pytest.raises(SystemExit):
        train_main(["--codec-only", "--freeze-codec", "--out", str(tmp_path)])


def test_a_new_run_can_start_from_the_shipped_weights(tmp_path):
    _write_pairs(tmp_path / "pairs")
    run = tmp_path / "run"
    args = ["--pairs", str(tmp_path / "pairs"), "--out", str(run), "--init-from-shipped"]
    assert (
        train_main([*args, "--steps", "1", "--crop", "64", "--batch", "1", "--device", "cpu"]) == 0
    )
    state = torch.load(run / "checkpoint.pt", weights_only=False)["model"]
    shipped = registry.load().model.state_dict()
    assert torch.allclose(state["g_s.0.weight"], shipped["g_s.0.weight"], atol=0.05)


def test_a_wider_camera_encoder_trains_from_the_shipped_weights_and_exports(tmp_path, capsys):
    _write_pairs(tmp_path / "pairs")
    run, weights = tmp_path / "run", tmp_path / "weights"
    args = ["--pairs", str(tmp_path / "pairs"), "--out", str(run), "--device", "cpu"]
    one_step = [*args, "--init-from-shipped", "--steps", "1", "--crop", "64", "--batch", "1"]
    assert train_main([*one_step, "--codec-only", "--encoder-only", "--n-a", "64"]) == 0
    state = torch.load(run / "checkpoint.pt", weights_only=False)["model"]
    assert state["g_a.3.weight"].shape == (64, 64, 3, 3)
    with pytest.raises(SystemExit):  # a resumed run keeps its own width
        train_main([*args, "--n-a", "80"])
    assert "has n_a 64" in capsys.readouterr().err
    assert export_main([str(run / "checkpoint.pt"), "--out-dir", str(weights)]) == 0
    with pytest.raises(registry.WeightsError, match="architecture differs"):
        registry.load(None, weights)  # the package's own weights must match the registry
    candidate = registry.load(None, weights, widths_from_file=True)
    assert candidate.spec.config.n_a == 64 and candidate.model.g_a[1].out_channels == 64


def test_a_narrower_camera_encoder_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        train_main(["--images", ".", "--out", str(tmp_path), "--n-a", "8"])
    assert "--n-a must be at least" in capsys.readouterr().err


def test_lr_drop_lowers_both_rates_for_the_end_of_the_budget(tmp_path):
    # The drop covers all but the first 60 microseconds of the one-minute budget.
    config = TrainConfig(
        out_dir=str(tmp_path), lr=1e-3, si_lr=2e-3, max_steps=2, minutes=1, lr_drop_last=0.999999
    )
    trainer = Trainer(DsinCodec(TINY), config)
    trainer.run(iter([_pairs(), _pairs()]))
    assert [g["lr"] for g in trainer.optimizer.param_groups] == pytest.approx([1e-4, 2e-4])


def test_a_resumed_run_uses_its_own_learning_rates(tmp_path):
    Trainer(DsinCodec(TINY), TrainConfig(out_dir=str(tmp_path), lr=1e-3)).save()
    again = Trainer(DsinCodec(TINY), TrainConfig(out_dir=str(tmp_path), lr=5e-5, si_lr=7e-4))
    assert again.resume()
    assert [g["lr"] for g in again.optimizer.param_groups] == pytest.approx([5e-5, 7e-4])


def test_the_side_view_is_weighed_by_its_own_level():
    torch.manual_seed(2)
    model = DsinCodec(TINY)
    left, right = _pairs()
    levels, side_levels = torch.tensor([5, 4]), torch.tensor([0, 1])
    torch.manual_seed(3)
    loss = joint_loss(model, left, right, levels, 0.5, side_levels=side_levels).loss
    torch.manual_seed(3)  # the same noise again, to recompute eq. 4 term by term
    both = model(torch.cat([left, right]), torch.cat([levels, side_levels]))
    bpp = bits_per_pixel(both.likelihoods, 64 * 64)
    x_dec, y_dec = both.x_dec[:2], both.x_dec[2:]
    x_hat = model.fuse(x_dec, y_dec.detach().clamp(0, 1))
    lam = torch.tensor(TINY.lambdas) * 255**2
    mse = [
        ((a - b) ** 2).flatten(1).mean(1) for a, b in ((x_dec, left), (x_hat, left), (y_dec, right))
    ]
    expected = bpp[:2] + bpp[2:] + lam[levels] * (mse[0] + mse[1]) / 2 + lam[side_levels] * mse[2]
    assert float(loss.detach()) == pytest.approx(float(expected.mean().detach()), rel=1e-5)


def test_bad_lr_drop_is_refused(capsys):
    with pytest.raises(SystemExit):
        train_main(["--images", ".", "--lr-drop-last", "1.5"])
    assert "--lr-drop-last" in capsys.readouterr().err


def test_bad_grey_share_is_refused(capsys):
    with pytest.raises(SystemExit):
        train_main(["--images", ".", "--grey-share", "-0.1"])
    assert "--grey-share" in capsys.readouterr().err


def test_sigterm_stops_training_with_a_checkpoint(tmp_path):
    _write_pairs(tmp_path / "pairs")
    run = tmp_path / "run"
    command = [sys.executable, "-m", "stereo_app.cli", "train", "--pairs", str(tmp_path / "pairs")]
    command += ["--out", str(run), "--crop", "64", "--batch", "1", "--device", "cpu"]
    # It ends by itself (exit 0, so the test fails) if never signalled.
    command += ["--minutes", "3", "--log-every", "1"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert "new run" in process.stdout.readline()  # printed once the loop is about to start
        # Wait for the first log line (step 1), however slow this machine is right now.
        while "step=" not in (line := process.stdout.readline()) and line:
            pass
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 130
    finally:
        process.kill()
    assert torch.load(run / "checkpoint.pt", weights_only=False)["step"] > 0


def test_si_loss_is_minus_the_mean_gain_in_db_and_trains_only_the_si_net(tmp_path):
    torch.manual_seed(5)
    model = DsinCodec(TINY).train()
    torch.nn.init.normal_(model.si_net.body[-1].weight, std=0.01)  # not the identity any more
    left, right = _pairs()
    levels, side_levels = torch.tensor([0, 7]), torch.tensor([2, 2])
    torch.manual_seed(6)
    terms = si_loss(model, left, right, levels, side_levels)
    torch.manual_seed(6)
    both = model(torch.cat([left, right]), torch.cat([levels, side_levels]))
    x_dec = both.x_dec[:2]
    x_hat = model.fuse(x_dec, both.x_dec[2:].clamp(0, 1))
    mse_dec, mse_si = (((a - left) ** 2).flatten(1).mean(1) for a in (x_dec, x_hat))
    expected = -(10 * torch.log10(mse_dec / mse_si)).mean()
    assert float(terms.loss.detach()) == pytest.approx(float(expected.detach()), rel=1e-5)
    config = TrainConfig(out_dir=str(tmp_path), freeze_codec=True, si_objective="psnr")
    trainer = Trainer(model, config)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    trainer.step(left, right)
    moved = {k for k, v in trainer.model.state_dict().items() if not torch.equal(v, before[k])}
    assert moved and all(k.startswith("si_net.") for k in moved)


def test_the_psnr_objective_needs_a_frozen_codec(tmp_path):
    with pytest.raises(ValueError, match="freeze_codec"):
        Trainer(DsinCodec(TINY), TrainConfig(out_dir=str(tmp_path), si_objective="psnr"))
    with pytest.raises(SystemExit):
        train_main(["--si-objective", "psnr", "--out", str(tmp_path)])


def test_gains_only_fits_the_chosen_levels_and_moves_nothing_else(tmp_path):
    torch.manual_seed(7)
    config = TrainConfig(
        out_dir=str(tmp_path), lr=1e-2, codec_only=True, gains_only=True, levels=(0, 1)
    )
    moved, before, after = _steps_and_moved(Trainer(DsinCodec(TINY), config), 3)
    assert moved == {"gain.gain", "gain.inverse"}
    for key in moved:
        assert not torch.equal(after[key][:2], before[key][:2])
        assert torch.equal(after[key][2:], before[key][2:])


def test_bad_level_options_are_refused(tmp_path):
    with pytest.raises(ValueError, match="codec_only"):
        Trainer(DsinCodec(TINY), TrainConfig(out_dir=str(tmp_path), gains_only=True))
    with pytest.raises(ValueError, match="outside"):
        Trainer(DsinCodec(TINY), TrainConfig(out_dir=str(tmp_path), levels=(0, 99)))
    with pytest.raises(SystemExit):
        train_main(["--gains-only", "--out", str(tmp_path)])


def test_encoder_only_moves_the_camera_side_and_nothing_the_decoder_reads(tmp_path):
    torch.manual_seed(11)
    config = TrainConfig(out_dir=str(tmp_path), lr=1e-2, codec_only=True, encoder_only=True)
    moved, _, _ = _steps_and_moved(Trainer(DsinCodec(TINY), config), 3)
    assert any(k.startswith("g_a.") for k in moved) and any(k.startswith("h_a.") for k in moved)
    assert "gain.gain" in moved
    assert all(k.startswith(("g_a.", "h_a.", "gain.gain")) for k in moved), moved


def test_encoder_only_needs_codec_only(tmp_path):
    with pytest.raises(ValueError, match="codec_only"):
        Trainer(DsinCodec(TINY), TrainConfig(out_dir=str(tmp_path), encoder_only=True))
    with pytest.raises(SystemExit):
        train_main(["--encoder-only", "--out", str(tmp_path)])
