"""``stereo-pipeline train`` and ``stereo-pipeline export``."""

from __future__ import annotations

import dataclasses
import signal
from pathlib import Path

import torch

from pipeline.codec.decode.device import resolve_device
from pipeline.codec.model.dsin import CodecConfig, DsinCodec
from pipeline.codec.model.registry import export, get_spec, load, widths_of
from pipeline.codec.weights import WEIGHTS_DIR
from pipeline.help_text import command_parser, options
from pipeline.training.loop.trainer import TrainConfig, Trainer
from pipeline.training.surgery.widen_analysis import widen_analysis_state

#: ``stereo-pipeline train`` options passed to :class:`TrainConfig` as they are.
TRAIN_OPTIONS = (
    "minutes",
    "lr",
    "si_lr",
    "lr_drop_last",
    "freeze_codec",
    "codec_only",
    "si_objective",
    "gains_only",
    "new_channels_from",
    "encoder_only",
    "alpha",
    "log_every",
    "seed",
)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def train_main(argv: list[str]) -> int:
    """Train (or resume training) a registered model on stereo pairs and natural images."""
    parser = command_parser("stereo-pipeline train", train_main.__doc__)
    parser.add_argument("--model", default=None, help="registry id (default: the default model)")
    parser.add_argument(
        "--n-a",
        type=int,
        default=None,
        help="camera-side analysis width, wider than the model's: the starting weights are "
        "widened first (pipeline.training.surgery.widen_analysis); a resumed run keeps its own",
    )
    parser.add_argument("--pairs", nargs="*", default=[], help="stereo folders (left/, right/)")
    parser.add_argument("--images", nargs="*", default=[], help="natural image folders")
    parser.add_argument("--out", default="runs/train", help="run directory (checkpoints, log)")
    parser.add_argument("--minutes", type=float, default=10.0, help="wall-clock budget")
    parser.add_argument(
        "--steps", type=int, default=0, help="stop after this many steps (0: no limit)"
    )
    parser.add_argument(
        "--crop", type=int, default=128, help="side of the square training crops, in pixels"
    )
    parser.add_argument("--batch", type=int, default=8, help="stereo pairs per step")
    parser.add_argument(
        "--grey-share",
        type=float,
        default=0.0,
        help="share of training items made grey (luma x3; both views of a pair alike)",
    )
    parser.add_argument("--lr", type=float, default=1e-4, help="learning rate of the codec")
    parser.add_argument("--si-lr", type=float, default=1e-3, help="learning rate of the SI-Net")
    parser.add_argument(
        "--lr-drop-last",
        type=float,
        default=0.0,
        help="share of --minutes, at the end, trained at a tenth of the learning rates",
    )
    parser.add_argument("--alpha", type=float, default=0.5, help="DSIN's weight of d(X, X_hat)")
    parser.add_argument(
        "--freeze-codec", action="store_true", help="fine-tune the SI-Net alone on a fixed codec"
    )
    parser.add_argument(
        "--si-objective",
        choices=("rd", "psnr"),
        default="rd",
        help="with --freeze-codec: the joint loss (rd) or the mean dB gain of X_hat (psnr)",
    )
    parser.add_argument(
        "--codec-only",
        action="store_true",
        help="train the codec alone on its own loss (no SI-Finder, SI-Net frozen): faster",
    )
    parser.add_argument(
        "--qualities",
        type=int,
        nargs="+",
        default=[],
        help="train at these qualities only (1 = the lowest; default: all)",
    )
    parser.add_argument(
        "--gains-only",
        action="store_true",
        help="with --codec-only: fit only the gain vectors of --qualities (new levels)",
    )
    parser.add_argument(
        "--new-channels-from",
        type=int,
        default=0,
        metavar="C",
        help="with --codec-only: train only latent channels C and up (added by "
        "pipeline.training.surgery.widen), every other weight fixed",
    )
    parser.add_argument(
        "--encoder-only",
        action="store_true",
        help="with --codec-only: train only the camera side (g_a, h_a, encoder gains); the "
        "decoder and its SI-Net stay exactly as they are",
    )
    parser.add_argument(
        "--init-from-shipped",
        action="store_true",
        help="start a new run from the weights the package ships for --model",
    )
    parser.add_argument("--log-every", type=int, default=20, help="steps per log line")
    parser.add_argument(
        "--device", default="auto", help="auto (a GPU if there is one), cpu, cuda or cuda:N"
    )
    parser.add_argument(
        "--workers", type=int, default=0, help="data-loading worker processes (0: in the loop)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the batch order and draws")
    args = parser.parse_args(argv)
    if not 0.0 <= args.lr_drop_last < 1.0:
        parser.error(f"--lr-drop-last must be in [0, 1), got {args.lr_drop_last}")
    if not 0.0 <= args.grey_share <= 1.0:
        parser.error(f"--grey-share must be in [0, 1], got {args.grey_share}")
    if args.log_every < 1:
        parser.error(f"--log-every must be at least 1, got {args.log_every}")
    if args.si_objective == "psnr" and not args.freeze_codec:
        parser.error("--si-objective psnr trains the SI-Net alone: add --freeze-codec")
    if args.gains_only and not args.codec_only:
        parser.error("--gains-only fits levels on the codec's own loss: add --codec-only")
    if args.new_channels_from and (not args.codec_only or args.gains_only):
        parser.error("--new-channels-from trains new latents alone: add --codec-only only")
    if args.encoder_only and (not args.codec_only or args.gains_only or args.new_channels_from):
        parser.error("--encoder-only trains the camera side alone: add --codec-only only")
    if args.codec_only and args.freeze_codec:
        parser.error("--codec-only and --freeze-codec exclude each other (nothing would train)")
    from pipeline.training.data.feed import make_batches

    device = resolve_device(args.device)
    config = TrainConfig(
        out_dir=args.out,
        max_steps=args.steps,
        levels=tuple(q - 1 for q in args.qualities),
        device=str(device),
        amp=device.type == "cuda",
        **options(args, *TRAIN_OPTIONS),
    )
    spec = get_spec(args.model)
    architecture = _architecture(spec.config, Path(args.out) / "checkpoint.pt", args.n_a)
    if isinstance(architecture, str):
        parser.error(architecture)
    trainer = Trainer(DsinCodec(architecture), config)
    resumed = trainer.resume()
    if not resumed and args.init_from_shipped:
        shipped = load(spec.model_id).model.state_dict()
        if architecture.n_a > spec.config.n_a:
            shipped = widen_analysis_state(shipped, architecture.n_a)
        trainer.model.load_state_dict(shipped)
    print(f"{'resumed at step ' + str(trainer.step_count) if resumed else 'new run'} on {device}")
    batches = make_batches(
        args.pairs,
        args.images,
        args.crop,
        args.batch,
        args.seed,
        args.workers,
        pairs_needed=not args.codec_only,
        grey_share=args.grey_share,
    )
    # SIGTERM (systemd, Kubernetes, `timeout`) stops like Ctrl-C: the run saves its checkpoint.
    signal.signal(signal.SIGTERM, _interrupt)
    trainer.run(batches)
    print(f"\nstopped at step {trainer.step_count}; checkpoint {trainer.checkpoint_path}")
    return 0


def _architecture(base: CodecConfig, checkpoint: Path, n_a: int | None) -> CodecConfig | str:
    """The model to train: a checkpoint's own widths, else ``base`` at ``n_a``; or an error."""
    if checkpoint.exists():
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)["model"]
        found = widths_of(base, state)
        if n_a not in (None, found.n_a):
            return (
                f"--n-a {n_a}: the run in {checkpoint.parent} has n_a {found.n_a} and resumes as "
                "it is (widen its checkpoint with python -m pipeline.training.surgery.widen --n-a)"
            )
        return found
    if n_a is None:
        return base
    if n_a < base.n_a:
        return f"--n-a must be at least the model's {base.n_a}, got {n_a}"
    return dataclasses.replace(base, n_a=n_a)


def export_main(argv: list[str]) -> int:
    """Export a training checkpoint to the fp16, hash-named weights the package ships."""
    parser = command_parser("stereo-pipeline export", export_main.__doc__)
    parser.add_argument("checkpoint", help="checkpoint.pt of a training run")
    parser.add_argument("--model", default=None, help="registry id (default: the default model)")
    parser.add_argument(
        "--out-dir",
        default=str(WEIGHTS_DIR),
        help="folder to write <model>-<hash>.pt into (default: the package's weights folder)",
    )
    args = parser.parse_args(argv)
    spec = get_spec(args.model)
    state = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    model = DsinCodec(widths_of(spec.config, state["model"]))  # a widened run exports as such
    model.load_state_dict(state["model"], strict=False)
    path = export(model, spec.model_id, Path(args.out_dir))
    print(f"{path} (step {state['step']}, {state['seconds'] / 3600:.2f} h of training)")
    return 0
