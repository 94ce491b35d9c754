"""The weights zoo: the models this build knows, their weights files and the one weights hash.

A model id names what a bitstream was coded with: a learned model (``dsin-s1``) or a standard
codec with the SI-Net that decodes it (``jpeg-si1``: JPEG, SI-Net ``si-std1``). Its weights are
a file ``<name>-<hash>.pt``, where ``<name>`` is the learned model id or the SI-Net's name and
``<hash>`` is :func:`weights_hash` of the file's bytes (the first :data:`HASH_HEX` hex digits of
their SHA-256); the hash is checked on every load and written into every bitstream, so a decoder
refuses bitstreams made with weights it does not hold. The built-in files are in
:data:`WEIGHTS_DIR`; an operator's weights folder (``docs/weights.md``) may hold more, several of
one name side by side. Every file is hashed when a folder is scanned, and a file whose contents
do not match its name is refused (:class:`WeightsError` naming it), as is a file of a name this
build does not know: a node never starts on weights it would refuse later. No torch here: a
camera with a standard codec names its SI-Net's weights from the file name alone; what a name
does (encode, decode, fuse) is :mod:`pipeline.codec.family`'s.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from typing import TypeVar

from pipeline.codec.bitstream.errors import WeightsError

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
HASH_HEX = 16
_FILE_NAME = re.compile(rf"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)-(?P<digest>[0-9a-f]{{{HASH_HEX}}})")


@dataclass(frozen=True)
class RegistryEntry:
    """What every registry entry has: the model id its bitstreams carry, and (keyword only,
    after the kind's own fields) a one-line summary for ``docs/models.md`` and ``--help``."""

    model_id: str
    _: KW_ONLY
    summary: str


Entry = TypeVar("Entry", bound=RegistryEntry)


def by_model_id(entries: Iterable[Entry]) -> dict[str, Entry]:
    """``entries`` keyed by their model id (an id given twice is a bug: ``ValueError``)."""
    keyed: dict[str, Entry] = {}
    for entry in entries:
        if entry.model_id in keyed:
            raise ValueError(f"model id {entry.model_id!r} registered twice")
        keyed[entry.model_id] = entry
    return keyed


@dataclass(frozen=True)
class StandardModelSpec(RegistryEntry):
    """A registry entry for a standard camera codec: the codec, and the weights file
    (``<weights>-<hash>.pt``) of the SI-Net that decodes it."""

    codec: str
    weights: str


STANDARD_MODELS: dict[str, StandardModelSpec] = by_model_id(
    StandardModelSpec(f"{codec}-si1", codec, "si-std1", summary=f"{codec} with the si-std1 SI-Net")
    for codec in ("jpeg", "webp", "avif")
)
"""Standard-codec models; one SI-Net (``si-std1``, told the codec) serves all three."""

VIDEO_SI_WEIGHTS = "si-std2"
"""The SI-Net of the video codecs: ``si-std1``'s architecture, told ``h264``, ``hevc`` or ``av1``
and the quality ``100 - crf`` (:func:`pipeline.codec.video.settings.quality_of_crf`)."""
VIDEO_MODELS: dict[str, StandardModelSpec] = by_model_id(
    StandardModelSpec(
        f"{codec}-si2", codec, VIDEO_SI_WEIGHTS, summary=f"{codec} stream with the si-std2 SI-Net"
    )
    for codec in ("h264", "hevc", "av1")
)
"""Video-codec models: a stream's packets decoded at receive, fused by ``si-std2``. ``si-std1``
stays the standard image codecs' SI-Net, so running JPEG/WebP/AVIF cameras keep their hash."""

#: The learned codec's model ids (``pipeline.codec.model.registry.REGISTRY``'s keys, which a
#: test checks), here so that naming weights files needs no torch.
LEARNED_MODEL_IDS: tuple[str, ...] = ("dsin-s1",)


def standard_model_id(codec: str) -> str:
    """The registry model id of a standard camera codec (``jpeg`` -> ``jpeg-si1``)."""
    for spec in STANDARD_MODELS.values():
        if spec.codec == codec:
            return spec.model_id
    raise WeightsError(f"no registered model for codec {codec!r}")


def known_names() -> set[str]:
    """The names a weights file may have: learned model ids, standard- and video-codec SI-Nets."""
    specs = (*STANDARD_MODELS.values(), *VIDEO_MODELS.values())
    return set(LEARNED_MODEL_IDS) | {spec.weights for spec in specs}


def weights_hash(data: bytes) -> str:
    """The hash of a weights file's bytes: the first :data:`HASH_HEX` hex digits of SHA-256."""
    return hashlib.sha256(data).hexdigest()[:HASH_HEX]


def weights_path(name: str, directory: Path = WEIGHTS_DIR) -> Path:
    """The one weights file of ``name`` in ``directory``."""
    found = sorted(directory.glob(f"{name}-*.pt"))
    if len(found) != 1:
        raise WeightsError(
            f"expected one weights file {name}-<hash>.pt in {directory}, found {len(found)}"
        )
    return found[0]


def named_hash(name: str, directory: Path = WEIGHTS_DIR) -> str:
    """The hash of weights file ``name`` as its file name gives it (checked when loaded)."""
    return weights_path(name, directory).stem.rsplit("-", 1)[1]


def read_checked(path: Path) -> tuple[bytes, str]:
    """The bytes of the weights file at ``path`` and their hash, checked against its name."""
    data = path.read_bytes()
    digest = weights_hash(data)
    if not path.stem.endswith(f"-{digest}"):
        raise WeightsError(f"{path.name}: SHA-256 prefix {digest} does not match its name")
    return data, digest


def write_named(data: bytes, name: str, directory: Path = WEIGHTS_DIR) -> Path:
    """Save ``data`` as ``<name>-<hash>.pt`` in ``directory``, replacing older files."""
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob(f"{name}-*.pt"):
        old.unlink()
    path = directory / f"{name}-{weights_hash(data)}.pt"
    path.write_bytes(data)
    return path


@dataclass(frozen=True)
class WeightsFile:
    """One verified weights file: its registry name, the hash its contents have, its path."""

    name: str
    digest: str
    path: Path


def verified(path: Path) -> WeightsFile:
    """The file at ``path`` once its name and contents agree; WeightsError naming it if not."""
    match = _FILE_NAME.fullmatch(path.stem) if path.suffix == ".pt" else None
    if match is None:
        raise WeightsError(f"{path}: not named <model id>-<{HASH_HEX} hex digits of SHA-256>.pt")
    if match["name"] not in known_names():
        known = ", ".join(sorted(known_names()))
        raise WeightsError(f"{path}: {match['name']!r} is not a model this build knows ({known})")
    try:
        digest = weights_hash(path.read_bytes())
    except OSError as e:
        raise WeightsError(f"{path}: cannot be read: {e.strerror or e}") from e
    if digest != match["digest"]:
        raise WeightsError(
            f"{path}: contents hash to {digest}, not to the {match['digest']} its name says"
        )
    return WeightsFile(match["name"], digest, path)


def scan(directory: Path) -> list[WeightsFile]:
    """Every ``*.pt`` file in ``directory``, verified, in name order (other files are left
    alone); WeightsError for a folder that is not there or a file that fails :func:`verified`."""
    if not directory.is_dir():
        raise WeightsError(f"{directory}: not a folder")
    return [verified(path) for path in sorted(directory.glob("*.pt"))]


def installed(weights_dir: Path | None = None) -> list[WeightsFile]:
    """The built-in weights, then those of ``weights_dir``: one entry per name and hash (a
    copy of a built-in file in the folder is the same weights set)."""
    files: dict[tuple[str, str], WeightsFile] = {}
    for directory in (WEIGHTS_DIR, *([weights_dir] if weights_dir else [])):
        for found in scan(directory):
            files.setdefault((found.name, found.digest), found)
    return list(files.values())


def select(name: str, weights_dir: Path | None = None, digest: str = "") -> WeightsFile:
    """The weights file a camera encodes with: the one ``name`` file in ``weights_dir`` (the
    built-in folder when None), or the one whose hash is ``digest`` when it is given."""
    directory = weights_dir or WEIGHTS_DIR
    found = [f for f in scan(directory) if f.name == name and digest in ("", f.digest)]
    if len(found) != 1:
        which = f"{name}-{digest or '<hash>'}.pt"
        raise WeightsError(f"expected one weights file {which} in {directory}, found {len(found)}")
    return found[0]
