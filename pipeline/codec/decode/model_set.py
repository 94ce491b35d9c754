"""Every model a decoder serves, found by the model id and weights hash a bitstream names.

A decoder holds each installed weights set at once (:mod:`pipeline.codec.weights`): the
built-in ones and those of its weights folder, so cameras on old and new weights decode side by
side during a rolling upgrade (``docs/weights.md``). All are loaded when the decoder starts, not
on a frame's first arrival: a bad file stops the start instead of a frame, the first frame of a
set does not wait for a load, and memory is bounded by what the folder holds (measured on a
CPU: 6-7 MB of resident memory and 0.1 s of start-up a ``dsin-s1`` set, plus its copy on a
GPU). A bitstream naming weights the decoder lacks raises :class:`ModelMismatchError`
(``model_mismatch``), as before.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from pipeline.codec.bitstream.errors import ModelMismatchError, WeightsError
from pipeline.codec.entropy.coder import LatentCoder
from pipeline.codec.model.dsin import DsinCodec
from pipeline.codec.model.registry import LoadedModel, load_file
from pipeline.codec.model.si_standard import StandardSINet, load_standard_file
from pipeline.codec.weights import WeightsFile


@dataclass(eq=False)
class DsinEntry:
    """One learned-codec weights set: the CPU model (entropy decoding), its copy on the
    decoder's device (synthesis, SI-Net) and its entropy coder."""

    loaded: LoadedModel
    model: DsinCodec
    coder: LatentCoder

    @property
    def key(self) -> tuple[str, str]:
        """(model id, weights hash), as a bitstream names them."""
        return self.loaded.spec.model_id, self.loaded.weights_hash


@dataclass(eq=False)
class StandardEntry:
    """One standard-codec SI-Net on the decoder's device: its weights name (``si-std1``; the video
    codecs' ``si-std2``), the net, its weights hash."""

    name: str
    net: StandardSINet
    weights_hash: str


class ModelSet:
    """The learned models and standard-codec SI-Nets of one decoder, on one device."""

    def __init__(
        self,
        dsin: Sequence[LoadedModel],
        standard: Sequence[tuple[str, StandardSINet, str]],
        device: torch.device,
        channels_last: bool = False,
        fused: torch.dtype | None = None,
    ) -> None:
        """``dsin``: the learned models (the first is the decoder's default); ``standard``:
        (weights name, SI-Net, weights hash). ``channels_last``: NHWC device copies (faster in
        oneDNN and cuDNN, not bit-identical across thread counts). ``fused``: the dtype the
        standard-codec SI-Nets run in as fused oneDNN calls on a CPU (:meth:`SINet.fuse
        <pipeline.codec.model.si_net.SINet.fuse>`; None: eagerly)."""
        self._dsin = {}
        for loaded in dsin:
            entry = _dsin_entry(loaded, device, channels_last)
            self._dsin.setdefault(entry.key, entry)
        self._standard = {
            (name, h): StandardEntry(name, _placed(net, device, channels_last, fused), h)
            for name, net, h in standard
        }
        if not self._dsin:
            raise WeightsError("no learned-codec weights installed (dsin-s1-<hash>.pt)")
        self.default = next(iter(self._dsin.values()))

    def dsin(self, model_id: str, weights_hash: str) -> DsinEntry:
        """The learned model a bitstream names; ModelMismatchError when it is not installed."""
        entry = self._dsin.get((model_id, weights_hash))
        if entry is None:
            raise self.mismatch(model_id, weights_hash)
        return entry

    def standard(self, name: str, model_id: str, weights_hash: str) -> StandardEntry:
        """The standard-codec SI-Net ``name`` (``si-std1``) of a ``model_id`` (``jpeg-si1`` ...)
        bitstream; ModelMismatchError when its hash is not installed."""
        entry = self._standard.get((name, weights_hash))
        if entry is None:
            raise self.mismatch(model_id, weights_hash)
        return entry

    def held(self) -> list[tuple[str, str]]:
        """(weights name, hash) of every set held: ``dsin-s1`` ..., then ``si-std1`` ..."""
        return [*self._dsin, *self._standard]

    def mismatch(self, model_id: str, weights_hash: str) -> ModelMismatchError:
        """The error for a bitstream naming a set this decoder does not hold."""
        held = ", ".join(f"{name} {digest}" for name, digest in self.held()) or "nothing"
        return ModelMismatchError(
            f"bitstream made with model {model_id} weights {weights_hash}; this decoder has {held}"
        )


def load_model_set(
    learned: Sequence[WeightsFile],
    standard_files: Sequence[WeightsFile],
    device: torch.device,
    first: LoadedModel | None = None,
    channels_last: bool = False,
    fused: torch.dtype | None = None,
) -> ModelSet:
    """A :class:`ModelSet` of the ``learned`` models' files (their widths read from the file,
    so a widened candidate serves too) and the standard-codec SI-Nets' ``standard_files``, with
    ``first`` as the default learned model."""
    dsin = [first] if first is not None else []
    held = {(d.spec.model_id, d.weights_hash) for d in dsin}
    dsin += [
        load_file(f.path, widths_from_file=True) for f in learned if (f.name, f.digest) not in held
    ]
    standard = [(f.name, *load_standard_file(f.path)) for f in standard_files]
    return ModelSet(dsin, standard, device, channels_last, fused)


def _dsin_entry(loaded: LoadedModel, device: torch.device, channels_last: bool) -> DsinEntry:
    model = loaded.model
    if device.type != "cpu":
        model = copy.deepcopy(model).to(device)
    if channels_last:
        model.g_s.to(memory_format=torch.channels_last)
        model.si_net.to(memory_format=torch.channels_last)
    cpu = loaded.model
    coder = LatentCoder(cpu.entropy_bottleneck, cpu.gaussian_conditional, cpu.config.groups)
    return DsinEntry(loaded, model, coder)


def _placed(
    net: StandardSINet, device: torch.device, channels_last: bool, fused: torch.dtype | None
) -> StandardSINet:
    net = net.to(device)
    if fused is not None and device.type == "cpu":
        net.net.fuse(fused)  # the decoder's own copy, loaded for it
    return net.to(memory_format=torch.channels_last) if channels_last else net
