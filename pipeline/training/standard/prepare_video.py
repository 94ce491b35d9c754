"""Code training clips with the cameras' video encoders, find their side information, store crops.

The video counterpart of :mod:`.prepare` (whose crop cutting and storage it shares): for every
clip (:mod:`.clips`) and every video codec, ``--crfs`` CRFs are drawn uniformly from the codec's
useful range; each view is coded as its own stream at that CRF, as a camera codes it
(:class:`pipeline.codec.video.VideoEncoder`, a keyframe every ``--keyframe-s`` seconds at
``--fps``) and decoded in order (:class:`pipeline.codec.video.VideoStreamDecoder`); at
``--frames`` random frames (keyframes and inter frames as the GOP mixes them) the SI-Finder runs
on the full decoded views exactly as the decoder runs it, and ``--crops`` windows are stored:

    python -m pipeline.training.standard.prepare_video --out runs/si-std2/data \\
        --sequences ../shared/data/stereo/{kitti_raw_0926_0001,vase,...} \\
        --stills ../shared/data/stereo/{eth3d_two_view,...} \\
        --images ../shared/data/natural/{kodak,...} --scenes 10

One ``.npz`` per clip (as :mod:`.prepare`'s, with ``keyframe`` per crop); an existing file is
kept, so an interrupted run resumes. ``--split holdout`` prepares the held-out clips instead.
A frame's quality is ``100 - crf`` (:func:`pipeline.codec.video.settings.quality_of_crf`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from pipeline.codec.video import VIDEO_CODECS, VideoEncoder, VideoSettings, VideoStreamDecoder
from pipeline.codec.video.settings import quality_of_crf
from pipeline.help_text import command_parser
from pipeline.training.standard.clips import Clip, clip_frames, clips
from pipeline.training.standard.prepare import (
    add_crop_options,
    crops_of,
    run_all,
    save_crops,
    seeded,
)

#: The CRFs a camera would use (roughly 0.1 to 2 bpp on real frames), per codec.
CRF_RANGE = {"h264": (18, 40), "hevc": (20, 42), "av1": (25, 55)}


def code_stream(
    codec: str, crf: int, images: Sequence[np.ndarray], fps: float, keyframe_s: float = 1.0
) -> tuple[list[np.ndarray], list[bool]]:
    """``images`` (one view, in order) coded as one camera stream and decoded in order: the
    decoded images and which frames were keyframes."""
    settings = VideoSettings(codec=codec, fps=fps, crf=crf, keyframe_interval_s=keyframe_s)
    height, width = images[0].shape[:2]
    channels = 1 if images[0].ndim == 2 else 3
    decoder = VideoStreamDecoder(codec, channels)
    decoded, keyframes = [], []
    with _own_scheduling(), VideoEncoder(settings, width, height, channels) as encoder:
        for image in images:
            packet = encoder.encode(image)
            outcome = decoder.decode(packet)
            if outcome.image is None:
                raise RuntimeError(f"{codec} frame {packet.index} dropped: {outcome.dropped}")
            decoded.append(outcome.image)
            keyframes.append(packet.keyframe)
    return decoded, keyframes


@contextlib.contextmanager
def _own_scheduling() -> Iterator[None]:
    """Keep the calling thread's scheduling policy: SVT-AV1 (libsvtav1 through PyAV) run as
    root switches it to SCHED_FIFO 99, and a data preparation must not starve the machine."""
    policy, param = os.sched_getscheduler(0), os.sched_getparam(0)
    try:
        yield
    finally:
        if os.sched_getscheduler(0) != policy:
            os.sched_setscheduler(0, policy, param)


def prepare_clip(task: tuple[Clip, Path, dict]) -> str:
    """All video codecs and CRFs of one clip into ``OUT/<name>.npz`` (kept if it exists)."""
    clip, out, options = task
    target = out / f"{clip.name}.npz"
    if target.exists():
        return f"{clip.name}: kept"
    torch.set_num_threads(1)
    rng = seeded(clip.name)
    frames = clip_frames(clip, rng)
    stacks, labels = [], {"codec": [], "quality": [], "keyframe": []}
    for index, codec in enumerate(VIDEO_CODECS):
        low, high = CRF_RANGE[codec]
        for crf in rng.integers(low, high + 1, options["crfs"]):
            coded = [
                code_stream(codec, int(crf), views, options["fps"])
                for views in zip(*frames, strict=True)
            ]
            (lefts, keyframes), (rights, _) = coded
            picks = rng.choice(len(frames), min(options["frames"], len(frames)), replace=False)
            for i in sorted(picks):
                stack = crops_of(
                    frames[i][0], lefts[i], rights[i], options["crops"], options["crop"], rng
                )
                stacks.append(stack)
                labels["codec"] += [index] * len(stack)
                labels["quality"] += [quality_of_crf(int(crf))] * len(stack)
                labels["keyframe"] += [keyframes[i]] * len(stack)
    save_crops(target, stacks, codecs=VIDEO_CODECS, **labels)
    keys = sum(labels["keyframe"])
    return f"{clip.name}: {len(labels['codec'])} crops ({keys} from keyframes)"


def main(argv: list[str] | None = None) -> int:
    """Command line (module docstring)."""
    parser = command_parser("python -m pipeline.training.standard.prepare_video", __doc__)
    parser.add_argument("--sequences", nargs="*", type=Path, default=[], help="stereo sequences")
    parser.add_argument("--stills", nargs="*", type=Path, default=[], help="stereo pairs, moved")
    parser.add_argument("--images", nargs="*", type=Path, default=[], help="natural images")
    parser.add_argument("--scenes", type=int, default=0, help="rendered scene clips")
    parser.add_argument(
        "--split", choices=("train", "holdout"), default="train", help="clips to prepare"
    )
    parser.add_argument("--length", type=int, default=10, help="frames of a clip")
    parser.add_argument("--fps", type=float, default=10.0, help="frame rate (keyframe spacing)")
    parser.add_argument("--crfs", type=int, default=1, help="CRFs per codec and clip")
    parser.add_argument("--frames", type=int, default=3, help="frames cropped per coding")
    add_crop_options(parser, "crops per frame", "hold out 1/N (see .clips)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    found = clips(
        args.sequences, args.stills, args.images, args.scenes, args.length, args.holdout, args.split
    )
    options = {k: getattr(args, k) for k in ("crfs", "frames", "crops", "crop", "fps")}
    run_all(prepare_clip, [(clip, args.out, options) for clip in found], args.workers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
