"""The dB a standard-codec SI-Net gains over X_dec: on held-out crops, or on whole sequences.

    python -m pipeline.training.standard.measure pipeline/weights/si-std2-<hash>.pt \\
        runs/si-std2/run/calibrated.pt --data runs/si-std2/holdout
    python -m pipeline.training.standard.measure runs/si-std2/run/calibrated.pt \\
        --sequences ../shared/data/stereo/karlsruhe_0023 --limit 10

Each net is a weights file or a training checkpoint. ``--data``: every stored crop of a
prepared folder (:mod:`.prepare`, :mod:`.prepare_video`), whole, through the net with its
residual scales (``--unscaled``: without, as in training); the mean gain (:func:`.train.gain_db`)
per codec, and for video crops per keyframe and inter frame. ``--sequences``: the first
``--limit`` frames of each sequence coded as camera streams at the calibration CRFs
(:data:`.calibrate.VIDEO_CRFS`), found and fused as the decoder does, the mean gain per codec
and CRF (a check on evaluation sequences: never train or calibrate on them). Prints JSON.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from pipeline.codec.model.fusion import find
from pipeline.codec.model.si_standard import StandardSINet, load_standard_file
from pipeline.codec.model.tensors import to_tensor
from pipeline.codec.standard import CODEC_NAMES
from pipeline.help_text import command_parser
from pipeline.training.data.datasets import list_pairs
from pipeline.training.standard.calibrate import VIDEO_CRFS, Coded, load_checkpoint, video_items
from pipeline.training.standard.clips import Clip
from pipeline.training.standard.train import gain_db


def load_net(path: Path) -> StandardSINet:
    """The net of a weights file or of a training checkpoint, in eval mode."""
    stored = torch.load(path, map_location="cpu", weights_only=False)
    if isinstance(stored, dict) and "model" in stored:
        return load_checkpoint(path)[0]
    return load_standard_file(path)[0]


def crop_gains(net: StandardSINet, folder: Path, scaled: bool = True) -> dict[str, float]:
    """Mean gain (dB) over every stored crop in ``folder`` of a codec the net serves: per
    codec (``h264``), and for crops that say so per ``h264_keyframe`` / ``h264_inter``."""
    gains: dict[str, list[float]] = defaultdict(list)
    with torch.no_grad():
        for path in sorted(folder.glob("*.npz")):
            if path.name.endswith(".part.npz"):
                continue
            with np.load(path) as data:
                for keys, gain in _file_gains(net, dict(data), scaled):
                    for key in keys:
                        gains[key].append(gain)
    return {name: float(np.mean(values)) for name, values in sorted(gains.items())}


def _file_gains(
    net: StandardSINet, data: dict, scaled: bool
) -> list[tuple[tuple[str, ...], float]]:
    """(keys, gain) of each crop of one prepared file whose codec the net serves, in one batch."""
    names = data["codecs"].tolist() if "codecs" in data else list(CODEC_NAMES)
    served = [i for i, c in enumerate(data["codec"]) if names[int(c)] in net.config.codecs]
    if not served:
        return []
    stack = torch.from_numpy(data["stack"][served]).float() / 255.0
    x, x_dec, y_syn, confidence = stack[:, 0:3], stack[:, 3:6], stack[:, 6:9], stack[:, 9:10]
    codec_names = [names[int(data["codec"][i])] for i in served]
    codec = torch.tensor([net.codec_index(name) for name in codec_names])
    quality = torch.from_numpy(data["quality"][served]).long()
    x_hat = net(x_dec, y_syn, confidence * 2 - 1, codec, quality, scaled=scaled)
    found = []
    for k, (name, gain) in enumerate(zip(codec_names, gain_db(x, x_dec, x_hat), strict=True)):
        keys = (name,)
        if "keyframe" in data:
            keys += (f"{name}_{'keyframe' if data['keyframe'][served[k]] else 'inter'}",)
        found.append((keys, float(gain)))
    return found


def sequence_gains(net: StandardSINet, folder: Path, limit: int) -> dict[str, float]:
    """Mean gain (dB, the net's scales) per video codec and CRF over the first ``limit``
    frames of the sequence in ``folder``, each view coded as a camera stream."""
    clip = Clip(folder.name, tuple(list_pairs([folder])[:limit]))
    gains: dict[str, list[float]] = defaultdict(list)
    with torch.no_grad():
        for item in video_items(net.config.codecs, [clip], VIDEO_CRFS, limit):
            crf = 100 - item.quality
            gains[f"{net.config.codecs[item.codec]}_crf{crf}"].append(_frame_gain(net, item))
    return {key: float(np.mean(values)) for key, values in gains.items()}


def _frame_gain(net: StandardSINet, item: Coded) -> float:
    x_dec = to_tensor(item.left_dec)
    y_syn, confidence = find(x_dec, to_tensor(item.right_dec), net.config.si_finder)
    codec, quality = torch.tensor([item.codec]), torch.tensor([item.quality])
    x_hat = net(x_dec[None], y_syn[None], confidence[None], codec, quality)
    return float(gain_db(to_tensor(item.left)[None], x_dec[None], x_hat)[0])


def main(argv: list[str] | None = None) -> int:
    """Command line (module docstring)."""
    parser = command_parser("python -m pipeline.training.standard.measure", __doc__)
    parser.add_argument("nets", nargs="+", type=Path, help="weights files or checkpoints")
    parser.add_argument("--data", type=Path, default=None, help="a prepared crop folder")
    parser.add_argument("--unscaled", action="store_true", help="crops without the scales")
    parser.add_argument("--sequences", nargs="*", type=Path, default=[], help="sequence folders")
    parser.add_argument("--limit", type=int, default=10, help="frames of each sequence")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    report = {}
    for path in args.nets:
        net = load_net(path)
        found = {}
        if args.data is not None:
            found["crops"] = crop_gains(net, args.data, scaled=not args.unscaled)
        for folder in args.sequences:
            found[folder.name] = sequence_gains(net, folder, args.limit)
        report[str(path)] = found
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
