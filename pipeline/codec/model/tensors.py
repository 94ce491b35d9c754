"""Conversions between numpy images (uint8, grey or RGB) and the model's padded tensors."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


def to_tensor(image: np.ndarray) -> Tensor:
    """(H, W) or (H, W, 3) uint8 to (3, H, W) float in [0, 1]; grey is replicated."""
    t = torch.from_numpy(np.ascontiguousarray(image)).to(torch.float32) / 255.0
    if t.ndim == 2:
        return t[None].expand(3, -1, -1).contiguous()
    return t.permute(2, 0, 1).contiguous()


def to_image(t: Tensor, channels: int) -> np.ndarray:
    """(3, H, W) float in [0, 1] to uint8 with ``channels`` (1: mean of the three)."""
    t = t.detach().clamp(0.0, 1.0)
    if channels == 1:
        t = t.mean(dim=0, keepdim=True)
    array = torch.round(t * 255.0).to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    return array[:, :, 0] if channels == 1 else array


def pad_to(t: Tensor, multiple: int) -> Tensor:
    """Replicate-pad (B, C, H, W) on the bottom and right to a multiple of ``multiple``."""
    pad_h, pad_w = -t.shape[-2] % multiple, -t.shape[-1] % multiple
    if pad_h == 0 and pad_w == 0:
        return t
    return F.pad(t, (0, pad_w, 0, pad_h), mode="replicate")


def padded_size(height: int, width: int, multiple: int) -> tuple[int, int]:
    """Height and width rounded up to ``multiple``."""
    return height + -height % multiple, width + -width % multiple
