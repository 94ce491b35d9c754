"""Image quality measures for the rate-distortion evaluation: PSNR and MS-SSIM on uint8 images.

Both are computed on the image's own channels (a grey image is scored as grey, never replicated
to RGB) with a peak value of 255, as CompressAI's ``compare`` tools do. PSNR needs no torch
(the demo scores with it); MS-SSIM imports torch when it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

PSNR_CAP_DB = 100.0
"""A lossless reconstruction has infinite PSNR; reports store this instead so JSON stays valid."""
MS_SSIM_MIN_SIDE = 161
"""pytorch_msssim's 5-scale MS-SSIM with an 11-tap window needs both sides above 160 pixels."""


def psnr(reference: np.ndarray, decoded: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB (peak 255); ``inf`` for identical images."""
    _check_same_shape(reference, decoded)
    mse = np.mean((reference.astype(np.float64) - decoded.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10.0 * np.log10(255.0**2 / mse))


def capped_psnr(reference: np.ndarray, decoded: np.ndarray) -> float:
    """:func:`psnr`, at most :data:`PSNR_CAP_DB` (what reports store)."""
    return min(psnr(reference, decoded), PSNR_CAP_DB)


def ms_ssim(reference: np.ndarray, decoded: np.ndarray) -> float:
    """Multi-scale SSIM (Wang, Simoncelli & Bovik 2003), 5 scales, averaged over channels.

    Images with a side of 160 pixels or less are first padded by mirror reflection to 161
    pixels (the smallest size the 5-scale pyramid accepts). The padding repeats image content,
    so the score of a small image is an approximation, documented in ``docs/evaluation.md``.
    """
    import torch
    from pytorch_msssim import ms_ssim as _ms_ssim

    _check_same_shape(reference, decoded)
    x = _to_tensor(_pad_to_min_side(reference))
    y = _to_tensor(_pad_to_min_side(decoded))
    with torch.no_grad():
        return float(_ms_ssim(x, y, data_range=255.0, size_average=True))


def _check_same_shape(reference: np.ndarray, decoded: np.ndarray) -> None:
    if reference.shape != decoded.shape:
        raise ValueError(f"shapes differ: reference {reference.shape}, decoded {decoded.shape}")


def _pad_to_min_side(image: np.ndarray) -> np.ndarray:
    pad_h = max(0, MS_SSIM_MIN_SIDE - image.shape[0])
    pad_w = max(0, MS_SSIM_MIN_SIDE - image.shape[1])
    if not (pad_h or pad_w):
        return image
    widths = [(0, pad_h), (0, pad_w)] + [(0, 0)] * (image.ndim - 2)
    return np.pad(image, widths, mode="symmetric")


def _to_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W) or (H, W, C) uint8 to a float (1, C, H, W) tensor in [0, 255]."""
    import torch

    array = image[..., None] if image.ndim == 2 else image
    return torch.from_numpy(np.array(array.transpose(2, 0, 1), np.float32))[None]
