"""The learned models' architectures, and the loading and writing of weights payloads (torch).

Weights files, their names and their hash are the zoo's (:mod:`pipeline.codec.weights`, no
torch). Float parameters are stored in fp16; the entropy models' CDF tables, their parameters
and the integer hyper-synthesis are stored exactly. The model cards are in ``docs/models.md``.
"""

from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass
from pathlib import Path

import torch

from pipeline.codec.bitstream.errors import WeightsError
from pipeline.codec.model.dsin import CodecConfig, DsinCodec
from pipeline.codec.model.si_finder import SIFinderConfig
from pipeline.codec.weights import (
    WEIGHTS_DIR,
    RegistryEntry,
    by_model_id,
    read_checked,
    weights_path,
    write_named,
)

_EXACT_PREFIXES = ("entropy_bottleneck.", "gaussian_conditional.", "h_s.")


@dataclass(frozen=True)
class ModelSpec(RegistryEntry):
    """A registry entry of a learned model: its architecture and default quality."""

    config: CodecConfig
    default_quality: int


DSIN_S1 = ModelSpec(
    "dsin-s1",
    CodecConfig(
        si_guided=True,
        si_finder=SIFinderConfig(patch=16, band=16, overlap=True, coarse=True),
    ),
    default_quality=8,
    summary="small variable-rate DSIN codec, 11 qualities, one autoencoder for both views",
)
REGISTRY: dict[str, ModelSpec] = by_model_id([DSIN_S1])
DEFAULT_MODEL = "dsin-s1"


#: Architecture fields that training tools may change (``pipeline.training.surgery.widen*``).
WIDTHS = ("n_a", "m")


@dataclass
class LoadedModel:
    """A model ready for coding: evaluation mode, CDF tables present, weights verified."""

    spec: ModelSpec
    model: DsinCodec
    weights_hash: str


def get_spec(model_id: str | None) -> ModelSpec:
    """The registry entry for ``model_id`` (None: the default model)."""
    model_id = model_id or DEFAULT_MODEL
    if model_id not in REGISTRY:
        raise WeightsError(f"unknown model {model_id!r}; known: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[model_id]


def load(
    model_id: str | None = None, directory: Path = WEIGHTS_DIR, widths_from_file: bool = False
) -> LoadedModel:
    """Load, hash-check and prepare a registered model on the CPU from its one file in
    ``directory``.

    ``widths_from_file``: a candidate's weights may be wider than the registry entry (a
    widened g_a or latent, see :func:`widths_of`); everything else must still match.
    """
    spec = get_spec(model_id)
    return load_file(weights_path(spec.model_id, directory), widths_from_file)


def load_file(path: Path, widths_from_file: bool = False) -> LoadedModel:
    """:func:`load` of one weights file ``<model id>-<hash>.pt`` (a folder may hold several)."""
    spec = get_spec(path.stem.rsplit("-", 1)[0])
    payload, digest = read_weights_file(path)
    stored = payload.get("config") or {}
    if widths_from_file:
        widths = {key: stored.get(key, getattr(spec.config, key)) for key in WIDTHS}
        spec = dataclasses.replace(spec, config=dataclasses.replace(spec.config, **widths))
    if stored != _config_dict(spec.config):
        raise WeightsError(f"{path.name}: architecture differs from registry entry {spec.model_id}")
    model = DsinCodec(spec.config)
    model.load_state_dict(float_state(payload["state_dict"]))
    if model.gaussian_conditional._quantized_cdf.numel() == 0:
        raise WeightsError(f"{path.name}: CDF tables missing")
    return LoadedModel(spec, model.eval(), digest)


def read_weights(name: str, directory: Path = WEIGHTS_DIR) -> tuple[dict, str]:
    """The payload of weights file ``name`` and its hash, checked against the file name."""
    return read_weights_file(weights_path(name, directory))


def read_weights_file(path: Path) -> tuple[dict, str]:
    """The payload of the weights file at ``path`` and its hash, checked against its name."""
    data, digest = read_checked(path)
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True), digest


def write_weights(payload: dict, name: str, directory: Path = WEIGHTS_DIR) -> Path:
    """Save ``payload`` as ``<name>-<hash>.pt`` in ``directory``, replacing older files."""
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return write_named(buffer.getvalue(), name, directory)


def widths_of(config: CodecConfig, state: dict[str, torch.Tensor]) -> CodecConfig:
    """``config`` with the widths a model state has (as the widening tools change them)."""
    return dataclasses.replace(
        config, n_a=state["g_a.1.weight"].shape[0], m=state["g_a.5.weight"].shape[0]
    )


def float_state(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A weights file's state with its fp16 tensors as float32 (the rest as stored)."""
    return {k: v.float() if v.is_floating_point() else v for k, v in state_dict.items()}


def export(model: DsinCodec, model_id: str, directory: Path = WEIGHTS_DIR) -> Path:
    """Quantise h_s, build the CDF tables, save fp16 weights named with their hash."""
    model = model.cpu().eval()
    model.h_s.quantize_weights_()
    model.update(force=True)
    state = {
        k: v.half() if v.is_floating_point() and not k.startswith(_EXACT_PREFIXES) else v
        for k, v in model.state_dict().items()
    }
    return write_weights(
        {"config": _config_dict(model.config), "state_dict": state}, model_id, directory
    )


def _config_dict(config: CodecConfig) -> dict:
    """The architecture as plain data (lists, not tuples, as torch.load returns them).

    The SI-Finder's search settings are decode-time options, not weights: left out.
    """
    fields = dataclasses.asdict(config)
    fields.pop("si_finder")
    return plain_data(fields)


def plain_data(value: object) -> object:
    """``value`` with tuples as lists, recursively (what ``torch.load`` gives back)."""
    if isinstance(value, tuple | list):
        return [plain_data(v) for v in value]
    if isinstance(value, dict):
        return {k: plain_data(v) for k, v in value.items()}
    return value
