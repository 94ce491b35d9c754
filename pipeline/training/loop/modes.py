"""Which weights a training run moves: the modes of :class:`TrainConfig` and their rules.

- the joint loss (no mode): everything, the SI-Net at its own learning rate;
- ``freeze_codec``: the SI-Net alone, on a fixed codec (``si_objective`` "rd" or "psnr");
- ``codec_only``: the codec alone on its own loss (SI-Net frozen), and within it at most one of
  ``gains_only`` (the gain vectors), ``new_channels_from`` (latent channels added by
  :mod:`pipeline.training.surgery.widen`) or ``encoder_only`` (the camera side).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import nn

from pipeline.training.surgery.widen import train_new_channels_only

if TYPE_CHECKING:
    from pipeline.training.loop.trainer import TrainConfig

#: Parameters that only the camera (encoder) side uses: g_a, h_a and the encoder's gains.
ENCODER_PREFIXES = ("g_a.", "h_a.", "gain.gain")


def check_modes(config: TrainConfig) -> None:
    """Raise ValueError, naming the options, if ``config``'s modes do not go together."""
    if config.si_objective not in ("rd", "psnr"):
        raise ValueError(f"si_objective must be 'rd' or 'psnr', got {config.si_objective!r}")
    if config.si_objective == "psnr" and not config.freeze_codec:
        raise ValueError("si_objective 'psnr' trains the SI-Net alone: it needs freeze_codec")
    if config.codec_only and config.freeze_codec:
        raise ValueError("codec_only and freeze_codec together would train nothing")
    if config.gains_only and not config.codec_only:
        raise ValueError("gains_only fits levels on the codec's own loss: needs codec_only")
    if config.new_channels_from and (not config.codec_only or config.gains_only):
        raise ValueError("new_channels_from trains new latents alone: codec_only only")
    if config.encoder_only and (
        not config.codec_only or config.gains_only or config.new_channels_from
    ):
        raise ValueError("encoder_only trains the camera side alone: codec_only only")


def set_trainable(model: nn.Module, config: TrainConfig) -> None:
    """Freeze every parameter of ``model`` that ``config``'s mode leaves alone."""
    if config.new_channels_from:
        train_new_channels_only(model, config.new_channels_from)
        return
    for name, param in model.named_parameters():
        param.requires_grad_(_trains(name, config))


def _trains(name: str, config: TrainConfig) -> bool:
    """Whether the parameter ``name`` trains in ``config``'s mode (checked by check_modes)."""
    if config.freeze_codec:
        return name.startswith("si_net.")
    if config.gains_only:
        return name.startswith("gain.")
    if config.encoder_only:
        return name.startswith(ENCODER_PREFIXES)
    return not (config.codec_only and name.startswith("si_net."))
