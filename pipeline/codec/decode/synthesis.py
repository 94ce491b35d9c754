"""Decode stage 2 (``synthesis``): X_dec of every view of a batch, on the decoder's device.

Learned latents (:class:`~pipeline.codec.decode.latents.Latents`) go through their model's
``g_s``, grouped by weights set and shape (each cropped to its image size); a family whose views
are pixels already (:attr:`pipeline.codec.family.CodecFamily.synthesised` false) is moved to the
device as it is.
"""

from __future__ import annotations

from collections import defaultdict

import torch
from torch import Tensor

from pipeline.codec.decode.device import chunked, reduced
from pipeline.codec.decode.read import View


def synthesise(
    flat: list[View], device: torch.device, dtype: torch.dtype, channels_last: bool
) -> list[Tensor]:
    """X_dec of every view in ``flat``, in order; ``channels_last``: NHWC latents (faster with
    oneDNN and cuDNN, not bit-identical across thread counts)."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    out: list[Tensor | None] = [None] * len(flat)
    for index, view in enumerate(flat):
        if view.family.synthesised:
            groups[(id(view.entry), *view.y_hat.shape)].append(index)
        else:
            out[index] = view.image.to(device)
    runs = [
        part
        for shape, indexes in groups.items()
        for part in chunked(indexes, shape[-2] * shape[-1] * 256, device)
    ]
    for indexes in runs:
        y = torch.stack([flat[i].y_hat for i in indexes]).to(device)
        if channels_last:
            y = y.contiguous(memory_format=torch.channels_last)
        levels = torch.tensor([flat[i].level for i in indexes], device=device)
        with reduced(device, dtype):
            images = flat[indexes[0]].entry.model.synthesise(y, levels).float()
        for i, x in zip(indexes, images, strict=True):
            out[i] = x[:, : flat[i].header.height, : flat[i].header.width]
    return out  # type: ignore[return-value]
