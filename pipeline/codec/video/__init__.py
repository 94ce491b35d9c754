"""Video camera codecs (H.264, HEVC, AV1) through FFmpeg (PyAV): no torch.

A camera codes its view as a stream (:class:`VideoEncoder`: one image in, one
:class:`VideoPacket` out, keyframes with their parameter sets every keyframe interval and on
demand); the decoder decodes each stream once, in order, at receive
(:class:`VideoStreamDecoder`), waiting for a keyframe after a gap or a corrupt packet.
``docs/video.md`` says what is built and wired.

The names below are imported when first asked for, so the settings
(:mod:`pipeline.codec.video.settings`, which a camera's config parses) load without PyAV and
a camera's preflight can say clearly that PyAV is missing.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "VIDEO_CODECS": "settings",
    "VideoSettings": "settings",
    "DecodeOutcome": "decoder",
    "DropReason": "decoder",
    "VideoStreamDecoder": "decoder",
    "VideoEncoder": "encoder",
    "VideoPacket": "encoder",
    "EncoderUnavailableError": "selection",
    "select_encoder": "selection",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    """The exported ``name`` from its module (PEP 562), imported on first use."""
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
