"""Registry entries of the standard camera codecs (JPEG, WebP, AVIF), without torch.

Each names the model id its containers carry and the SI-Net weights that decode it;
:mod:`pipeline.codec.registry` re-exports them beside the learned models.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.codec.errors import WeightsError


@dataclass(frozen=True)
class StandardModelSpec:
    """A registry entry for a standard camera codec: the model id its containers carry, the
    codec, and the weights file (``<weights>-<hash>.pt``) of the SI-Net that decodes it."""

    model_id: str
    codec: str
    weights: str
    summary: str


STANDARD_MODELS: dict[str, StandardModelSpec] = {
    spec.model_id: spec
    for spec in (
        StandardModelSpec(f"{codec}-si1", codec, "si-std1", f"{codec} with the si-std1 SI-Net")
        for codec in ("jpeg", "webp", "avif")
    )
}
"""Standard-codec models; one SI-Net (``si-std1``, told the codec) serves all three."""


def standard_model_id(codec: str) -> str:
    """The registry model id of a standard camera codec (``jpeg`` -> ``jpeg-si1``)."""
    for spec in STANDARD_MODELS.values():
        if spec.codec == codec:
            return spec.model_id
    raise WeightsError(f"no registered model for codec {codec!r}")
