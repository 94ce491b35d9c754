"""Side information for the standard codecs: one SI-Net told the codec and the quality.

A camera that runs JPEG, WebP or AVIF sends that codec's file; the decoder decodes it to X_dec
(:mod:`pipeline.codec.standard`), the SI-Finder matches X_dec against the decoded right view,
whatever codec that one used, and this net fuses the two. It is the guided SI-Net
(:class:`pipeline.codec.model.si_net.SINet`: X_dec, Y_syn, the match confidence and a quality plane
q / 100) with the codec as three more one-hot planes, so one network serves all three codecs
and every quality (it trains on a CPU three times faster than three networks would). Its
residual is scaled per codec and quality (``codec_scale``, calibrated after training on
held-out real pairs, :mod:`pipeline.training.standard.calibrate`), so that where fusion does
not help on real frames the decoder stays near the codec's own output.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pipeline.codec.model.registry import float_state, plain_data, read_weights_file, write_weights
from pipeline.codec.model.si_finder import SIFinderConfig
from pipeline.codec.model.si_net import DEFAULT_DILATIONS, SINet
from pipeline.codec.standard import CODEC_NAMES
from pipeline.codec.weights import WEIGHTS_DIR, weights_path

#: Quality settings 0..100 (a codec's own scale), one residual scale each.
QUALITY_STEPS = 101
STANDARD_SI_FINDER = SIFinderConfig(patch=16, band=16, overlap=True, coarse=True)
"""The standard-codec SI-Net's search: dsin-s1's (docs/models.md). A decode-time setting, not
part of the weights (its training crops were found with the full-resolution search)."""


@dataclass(frozen=True)
class StandardSIConfig:
    """Architecture of a standard-codec SI-Net (stored with its weights)."""

    width: int = 32
    dilations: tuple[int, ...] = DEFAULT_DILATIONS
    codecs: tuple[str, ...] = CODEC_NAMES
    si_finder: SIFinderConfig = field(default=STANDARD_SI_FINDER)
    shuffle: int = 1

    @classmethod
    def from_stored(cls, stored: dict) -> StandardSIConfig:
        """The config as a checkpoint or weights file stores it (lists for tuples); the
        SI-Finder settings are this build's (:data:`STANDARD_SI_FINDER`), not the stored ones."""
        fields = _tuples(dict(stored))
        fields.pop("si_finder", None)
        return cls(**fields)


class StandardSINet(nn.Module):
    """X_hat = X_dec + s[codec, q] * f(X_dec, Y_syn, confidence, q / 100, one-hot codec)."""

    def __init__(self, config: StandardSIConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or StandardSIConfig()
        self.net = SINet(
            config.width,
            config.dilations,
            levels=QUALITY_STEPS,
            guided=True,
            conditions=len(config.codecs),
            shuffle=config.shuffle,
        )
        self.register_buffer("codec_scale", torch.ones(len(config.codecs), QUALITY_STEPS))

    def codec_index(self, name: str) -> int:
        """The codec input of ``name``; ValueError for a codec this net was not trained on."""
        if name not in self.config.codecs:
            raise ValueError(f"this SI-Net serves {self.config.codecs}, not {name!r}")
        return self.config.codecs.index(name)

    def forward(
        self,
        x_dec: Tensor,
        y_syn: Tensor,
        confidence: Tensor,
        codec: Tensor,
        quality: Tensor,
        scaled: bool = True,
        ensemble: int = 1,
    ) -> Tensor:
        """Fuse a batch: images (B, 3, H, W), confidence (B, 1, H, W), ``codec`` indexes and
        ``quality`` settings (B,) as integers; ``scaled=False`` in training and calibration.
        Y_syn is clamped to [0, 1] here, wherever it came from (the decoder, stored crops)."""
        y_syn = y_syn.clamp(0.0, 1.0)
        quality = quality.clamp(0, QUALITY_STEPS - 1)
        onehot = F.one_hot(codec, len(self.config.codecs)).to(x_dec.dtype)
        fused = self.net(
            x_dec, y_syn, quality, confidence, scaled=False, ensemble=ensemble, condition=onehot
        )
        if not scaled:
            return fused
        scale = self.codec_scale[codec, quality].to(x_dec.dtype)[:, None, None, None]
        return x_dec + scale * (fused - x_dec)


def load_standard_net(name: str, directory: Path | None = None) -> tuple[StandardSINet, str]:
    """The SI-Net in weights file ``name`` (fp16 on disk, float32 here) and its hash."""
    return load_standard_file(weights_path(name, directory or WEIGHTS_DIR))


def load_standard_file(path: Path) -> tuple[StandardSINet, str]:
    """:func:`load_standard_net` of one weights file (a folder may hold several)."""
    payload, digest = read_weights_file(path)
    net = StandardSINet(StandardSIConfig.from_stored(payload["config"]))
    net.load_state_dict(float_state(payload["state_dict"]))
    return net.eval(), digest


def export_standard_net(net: StandardSINet, name: str, directory: Path | None = None) -> Path:
    """Write ``net`` as ``<name>-<hash>.pt`` (fp16 weights, exact scales) for the registry."""
    state = {
        k: v.half() if v.is_floating_point() and k != "codec_scale" else v
        for k, v in net.cpu().state_dict().items()
    }
    config = asdict(net.config)
    config.pop("si_finder")  # a decode-time setting, as for dsin-s1
    payload = {"config": plain_data(config), "state_dict": state}
    return write_weights(payload, name, directory or WEIGHTS_DIR)


def _tuples(fields: dict) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
