"""The weights files a node has installed: the built-in folder and an operator's weights folder.

A weights folder (``docs/weights.md``) holds files named as the registry names them,
``<name>-<hash>.pt``, where ``<name>`` is a learned model id (``dsin-s1``) or the standard-codec
SI-Net (``si-std1``) and ``<hash>`` the first 16 hex digits of the file's SHA-256; several files
of one name (several weights sets) may sit side by side. Every file is hashed when the folder is
scanned, and a file whose contents do not match its name is refused (:class:`WeightsError`
naming it), as is a file of a name this build does not know: a node never starts on weights it
would refuse later, and a folder with a typo fails at start, not at the first frame.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.codec.errors import WeightsError
from pipeline.codec.standard_models import STANDARD_MODELS, standard_model_id
from pipeline.codec.weights_files import HASH_HEX, LEARNED_MODEL_IDS, WEIGHTS_DIR

_FILE_NAME = re.compile(rf"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)-(?P<digest>[0-9a-f]{{{HASH_HEX}}})")


@dataclass(frozen=True)
class WeightsFile:
    """One verified weights file: its registry name, the hash its contents have, its path."""

    name: str
    digest: str
    path: Path

    @property
    def standard(self) -> bool:
        """True for a standard-codec SI-Net, False for a learned codec (``dsin-s1``)."""
        return self.name not in LEARNED_MODEL_IDS


def known_names() -> set[str]:
    """The names a weights file may have: learned model ids and standard-codec SI-Nets."""
    return set(LEARNED_MODEL_IDS) | {spec.weights for spec in STANDARD_MODELS.values()}


def file_digest(path: Path) -> str:
    """The first 16 hex digits of the SHA-256 of the file at ``path``."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:HASH_HEX]


def verified(path: Path) -> WeightsFile:
    """The file at ``path`` once its name and contents agree; WeightsError naming it if not."""
    match = _FILE_NAME.fullmatch(path.stem) if path.suffix == ".pt" else None
    if match is None:
        raise WeightsError(f"{path}: not named <model id>-<{HASH_HEX} hex digits of SHA-256>.pt")
    if match["name"] not in known_names():
        known = ", ".join(sorted(known_names()))
        raise WeightsError(f"{path}: {match['name']!r} is not a model this build knows ({known})")
    try:
        digest = file_digest(path)
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


def weights_name(codec: str, model: str | None = None) -> str:
    """The weights a camera codec encodes with: the learned model's id (``dsin``, ``model`` or
    the default) or the SI-Net a standard codec's model names (``si-std1``)."""
    if codec == "dsin":
        from pipeline.codec.registry import get_spec  # torch: a dsin camera has the extra

        return get_spec(model).model_id
    spec = STANDARD_MODELS.get(model or standard_model_id(codec))
    if spec is None or spec.codec != codec:
        raise WeightsError(f"{model!r} is not a registered model of codec {codec}")
    return spec.weights
