"""Second weights sets for the upgrade tests: the shipped ``dsin-s1`` weights, changed a little
and saved the way the registry names files (``<model id>-<sha256[:16]>.pt``)."""

from __future__ import annotations

from pathlib import Path

from pipeline.codec.model import registry


def perturbed_dsin(directory: Path, brighter: float = 0.02) -> Path:
    """A new ``dsin-s1`` file in ``directory``: the shipped weights with the synthesis' output
    bias raised by ``brighter`` (in [0, 1] pixel units: 0.02 is about 5 grey levels), so the
    file's hash differs and so does every image it decodes. The encoder is unchanged."""
    payload, _ = registry.read_weights(registry.DEFAULT_MODEL)
    state = dict(payload["state_dict"])
    state["g_s.6.bias"] = state["g_s.6.bias"] + brighter
    return registry.write_weights(
        {**payload, "state_dict": state}, registry.DEFAULT_MODEL, directory
    )
