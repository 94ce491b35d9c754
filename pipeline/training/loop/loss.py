"""DSIN's joint rate-distortion loss over a batch of stereo pairs.

L = bpp(X) + lambda_q * 255^2 * [(1 - a) * MSE(X, X_dec) + a * MSE(X, X_hat)]
    + bpp(Y) + lambda_q' * 255^2 * MSE(Y, Y_dec)

(Ayzik and Avidan, ECCV 2020, eq. 4, with the side view's own rate-distortion term added
because here one autoencoder also codes the side view Y; lambda chosen per item by its
quality level q, and the side view's level q' drawn independently.)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from pipeline.codec.model.dsin import DsinCodec


@dataclass
class LossTerms:
    """The loss and the figures logged with it (bpp per view, PSNR before and after SI)."""

    loss: Tensor
    bpp: float
    psnr_dec: float
    psnr_si: float | None
    psnr_side: float

    def as_dict(self) -> dict[str, float]:
        """Plain floats for the log (no ``psnr_si`` when the step did not fuse)."""
        figures = {
            "loss": float(self.loss.detach()),
            "bpp": self.bpp,
            "psnr_dec": self.psnr_dec,
            "psnr_si": self.psnr_si,
            "psnr_side": self.psnr_side,
        }
        return {k: v for k, v in figures.items() if v is not None}


def bits_per_pixel(likelihoods: dict[str, Tensor], pixels: int) -> Tensor:
    """Estimated bits per pixel of each batch item from its latents' likelihoods."""
    total = sum(-torch.log2(v).flatten(1).sum(dim=1) for v in likelihoods.values())
    return total / pixels


def joint_loss(
    model: DsinCodec,
    left: Tensor,
    right: Tensor,
    levels: Tensor,
    alpha: float,
    side_levels: Tensor | None = None,
) -> LossTerms:
    """Forward both views through the codec, fuse the left with the right, and weigh it all.

    ``side_levels`` (default: ``levels``) lets the side view be coded at another quality than
    the primary, as a rig may do to make the primary stream cheaper.
    """
    batch = left.shape[0]
    side_levels = levels if side_levels is None else side_levels
    bpp, weights, (mse_dec, mse_si, mse_side) = _code_and_fuse(
        model, left, right, levels, side_levels
    )
    primary = weights[:batch] * ((1 - alpha) * mse_dec + alpha * mse_si)
    side = weights[batch:] * mse_side
    loss = (bpp[:batch] + bpp[batch:] + primary + side).mean()
    return LossTerms(
        loss,
        float(bpp.detach().mean()),
        _psnr(mse_dec),
        _psnr(mse_si),
        _psnr(mse_side),
    )


def codec_loss(
    model: DsinCodec, left: Tensor, right: Tensor, levels: Tensor, side_levels: Tensor
) -> LossTerms:
    """The autoencoder's own rate-distortion loss on both views, without SI (a = 0).

    DSIN pre-trains the autoencoder this way before the joint loss; here it is the fast way
    to train the codec's transforms, since it skips the SI-Finder and the SI-Net.
    """
    batch = left.shape[0]
    decoded, bpp, weights = _code_both(model, left, right, levels, side_levels)
    mse = _mse(decoded, torch.cat([left, right]))
    loss = (bpp + weights * mse).mean()
    return LossTerms(loss, float(bpp.detach().mean()), _psnr(mse[:batch]), None, _psnr(mse[batch:]))


def si_loss(
    model: DsinCodec, left: Tensor, right: Tensor, levels: Tensor, side_levels: Tensor
) -> LossTerms:
    """The SI-Net's own loss on a frozen codec: minus the mean gain of X_hat over X_dec, in dB.

    With the codec fixed the rate is fixed, so only the fusion's distortion weighting matters.
    The joint loss weighs each item's MSE by its lambda, which gives the top level about 20
    times the say of the lowest, where side information helps most; BD-rate on PSNR counts
    every decibel alike, and so does this loss: ``10 * log10(MSE(X, X_hat) / MSE(X, X_dec))``.
    """
    bpp, _, (mse_dec, mse_si, mse_side) = _code_and_fuse(
        model, left, right, levels, side_levels, codec_grad=False
    )
    gain_db = 10 * torch.log10(mse_dec.clamp_min(1e-10) / mse_si.clamp_min(1e-10))
    return LossTerms(
        -gain_db.mean(),
        float(bpp.detach().mean()),
        _psnr(mse_dec),
        _psnr(mse_si),
        _psnr(mse_side),
    )


def _code_and_fuse(
    model: DsinCodec,
    left: Tensor,
    right: Tensor,
    levels: Tensor,
    side_levels: Tensor,
    codec_grad: bool = True,
) -> tuple[Tensor, Tensor, tuple[Tensor, Tensor, Tensor]]:
    """Both views coded, the left fused with the decoded right (never a gradient into it).

    Returns each image's bpp, its distortion weight, and the per-item MSEs of X_dec, X_hat and
    Y_dec. ``codec_grad=False`` runs the codec without a graph (the SI-Net alone learns).
    """
    batch = left.shape[0]
    with torch.set_grad_enabled(codec_grad and torch.is_grad_enabled()):
        decoded, bpp, weights = _code_both(model, left, right, levels, side_levels)
    x_dec, y_dec = decoded[:batch], decoded[batch:]
    x_hat = model.fuse(x_dec, y_dec.detach().clamp(0, 1), level=levels, scaled=False)
    errors = tuple(_mse(a, b) for a, b in ((x_dec, left), (x_hat, left), (y_dec, right)))
    return bpp, weights, errors


def _code_both(
    model: DsinCodec, left: Tensor, right: Tensor, levels: Tensor, side_levels: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """Both views through the codec as one batch (left items first).

    Returns the reconstructions, each image's estimated bpp, and each image's distortion
    weight lambda_q * 255^2 for its quality level.
    """
    all_levels = torch.cat([levels, side_levels])
    both = model(torch.cat([left, right]), all_levels)
    bpp = bits_per_pixel(both.likelihoods, left.shape[-2] * left.shape[-1])
    weights = torch.tensor(model.config.lambdas, device=left.device)[all_levels] * 255**2
    return both.x_dec, bpp, weights


def _mse(a: Tensor, b: Tensor) -> Tensor:
    return ((a - b) ** 2).flatten(1).mean(dim=1)


def _psnr(mse: Tensor) -> float:
    return float((10 * torch.log10(1.0 / mse.detach().clamp_min(1e-10))).mean())
