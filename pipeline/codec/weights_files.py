"""Where weights files live and how they are named: ``<model id>-<hash>.pt``.

``<hash>`` is the first :data:`HASH_HEX` hex digits of the file's SHA-256
(:mod:`pipeline.codec.registry` checks it on every load). No torch here: a camera with a
standard codec reads the hash of its SI-Net's weights from the file name alone.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.codec.errors import WeightsError

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
HASH_HEX = 16
#: The learned codec's model ids (``pipeline.codec.registry.REGISTRY``'s keys, which a test
#: checks), here so that naming weights files needs no torch.
LEARNED_MODEL_IDS: tuple[str, ...] = ("dsin-s1",)


def weights_path(model_id: str, directory: Path = WEIGHTS_DIR) -> Path:
    """The one weights file of ``model_id`` in ``directory``."""
    found = sorted(directory.glob(f"{model_id}-*.pt"))
    if len(found) != 1:
        raise WeightsError(
            f"expected one weights file {model_id}-<hash>.pt in {directory}, found {len(found)}"
        )
    return found[0]


def file_hash(name: str, directory: Path = WEIGHTS_DIR) -> str:
    """The hash of weights file ``name`` as its file name gives it (checked when loaded)."""
    return weights_path(name, directory).stem.rsplit("-", 1)[1]
