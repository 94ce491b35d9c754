"""Where and how the decode stages run: the device, the dtype, the SI-Net ensemble, the batch runs.

Shared by the synthesis (:mod:`pipeline.codec.decode.synthesis`) and the side-information stages
(:mod:`pipeline.codec.decode.side_information`), and resolved once by
:class:`~pipeline.codec.decode.decoder.StereoDecoder`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Literal

import torch

from pipeline.codec.model.si_net import ENSEMBLE_SIZES


@contextlib.contextmanager
def onednn(enabled: bool) -> Iterator[None]:
    """Switch oneDNN (mkldnn) CPU kernels on or off for a block."""
    before = torch._C._get_mkldnn_enabled()
    torch._C._set_mkldnn_enabled(enabled)
    try:
        yield
    finally:
        torch._C._set_mkldnn_enabled(before)


@contextlib.contextmanager
def intra_op_threads(count: int) -> Iterator[None]:
    """Run a block on ``count`` torch CPU threads in the calling thread, then restore its count.

    OpenMP keeps a count per thread, but torch also takes the last count set as the default of
    threads that have not run a parallel operation yet: a thread that must keep its own count
    sets it too (:class:`~pipeline.codec.decode.decoder.StereoDecoder` does, per phase)."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def resolve_device(device: str) -> torch.device:
    """'auto' is CUDA when available, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


#: SI-Net passes that ``self_ensemble="auto"`` runs: the full ensemble where a pass is cheap
#: (about 1.3 ms a pair on an H100 at 752x480), none on the CPU (0.7 s a pass at 1344x372 on
#: 2 cores).
AUTO_ENSEMBLE = {"cuda": 8}


Precision = Literal["auto", "float32", "bfloat16"]


def resolve_precision(
    precision: Precision, device: torch.device, deterministic: bool
) -> torch.dtype:
    """The dtype the synthesis and the SI-Net run in: bfloat16 where the hardware computes it
    natively ("auto": CUDA with bf16, or a CPU whose oneDNN has bf16 kernels, as AVX512-BF16 and
    AMX give), else float32; float32 always in deterministic mode. The SI-Finder and the
    entropy decoding are never reduced."""
    if precision not in ("auto", "float32", "bfloat16"):
        raise ValueError(f"precision: 'auto', 'float32' or 'bfloat16', not {precision!r}")
    if deterministic or precision == "float32":
        return torch.float32
    if precision == "bfloat16":
        return torch.bfloat16
    if device.type == "cuda":
        native = torch.cuda.is_bf16_supported()
    else:
        native = device.type == "cpu" and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    return torch.bfloat16 if native else torch.float32


def resolve_ensemble(self_ensemble: int | Literal["auto"], device: torch.device) -> int:
    """The SI-Net self-ensemble size to run on ``device``; ValueError for a size not offered."""
    if self_ensemble == "auto":
        return AUTO_ENSEMBLE.get(device.type, 1)
    if isinstance(self_ensemble, bool) or self_ensemble not in ENSEMBLE_SIZES:
        raise ValueError(f"self_ensemble: 'auto' or one of {ENSEMBLE_SIZES}, not {self_ensemble!r}")
    return self_ensemble


def reduced(device: torch.device, dtype: torch.dtype) -> contextlib.AbstractContextManager:
    """Autocast to ``dtype`` on ``device`` when it is not float32 (else nothing)."""
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype)


#: On a CPU, images a network call takes at once: about one 640x480 image's pixels. Larger
#: batches run slower per image there (activations fall out of the cache: the SI-Net took 135
#: against 55 ms a 640x480 pair in batches of 4 on this project's CPU).
CPU_PIXELS_PER_CALL = 1 << 19


def chunked(indexes: list[int], pixels: int, device: torch.device) -> list[list[int]]:
    """``indexes`` in runs one network call should take: all at once on an accelerator, about
    :data:`CPU_PIXELS_PER_CALL` pixels a call on a CPU."""
    if device.type != "cpu":
        return [indexes]
    size = max(1, CPU_PIXELS_PER_CALL // max(1, pixels))
    return [indexes[i : i + size] for i in range(0, len(indexes), size)]
