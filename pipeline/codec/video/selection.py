"""Which FFmpeg encoder a camera opens: the one it names, or with ``encoder = "auto"`` the first
hardware encoder of its codec that works on this host, else the software one.

"Works" is tried, not assumed from ``av.codecs_available`` (the wheel lists NVENC, Quick Sync and
v4l2m2m whatever the host has): a candidate must open at the camera's size and settings and code
a probe frame into exactly one keyframe packet (a hardware encoder that holds frames back would
break one frame in, one packet out). The probe's context is thrown away.
"""

from __future__ import annotations

from dataclasses import dataclass

import av
import numpy as np

from pipeline.codec.bitstream.errors import CodecError
from pipeline.codec.video import profiles
from pipeline.codec.video.frames import to_frame
from pipeline.codec.video.profiles import EncoderProfile
from pipeline.codec.video.settings import AUTO, VideoSettings


class EncoderUnavailableError(CodecError):
    """No encoder of the settings' codec opens on this host (or the one named does not)."""


@dataclass(frozen=True)
class Selection:
    """The encoder chosen, and why each one tried before it was passed over."""

    profile: EncoderProfile
    refused: tuple[tuple[str, str], ...] = ()


def select_encoder(settings: VideoSettings, width: int, height: int, channels: int) -> Selection:
    """The encoder for ``settings`` at ``width`` x ``height`` with ``channels`` (1 or 3).

    Raises ``ValueError`` naming ``encoder`` for a name that is not one of the codec's, and
    :class:`EncoderUnavailableError` when the named encoder, or with ``auto`` even the software
    one, does not work here.
    """
    known = profiles.known_profiles(settings.codec)
    if settings.encoder != AUTO and settings.encoder not in known:
        raise ValueError(
            f"encoder: {settings.encoder!r} is not a {settings.codec} encoder; "
            f"expected 'auto' or one of {sorted(known)}"
        )
    if settings.encoder != AUTO:
        candidates: tuple[EncoderProfile, ...] = (known[settings.encoder],)
    else:
        candidates = (
            *profiles.HARDWARE_ENCODERS[settings.codec],
            profiles.SOFTWARE_ENCODERS[settings.codec],
        )
    refused: list[tuple[str, str]] = []
    for profile in candidates:
        reason = probe(profile, settings, width, height, channels)
        if reason is None:
            return Selection(profile, tuple(refused))
        refused.append((profile.name, reason))
    tried = "; ".join(f"{name}: {reason}" for name, reason in refused)
    raise EncoderUnavailableError(f"no {settings.codec} encoder works here ({tried})")


def probe(
    profile: EncoderProfile, settings: VideoSettings, width: int, height: int, channels: int
) -> str | None:
    """None when ``profile`` opens and codes one frame into one keyframe packet; else why not."""
    if profile.name not in av.codecs_available:
        return "not in this FFmpeg build"
    shape = (height, width) if channels == 1 else (height, width, 3)
    frame = to_frame(np.full(shape, 128, np.uint8), profile.pix_fmt(channels), pts=0)
    frame.pict_type = av.video.frame.PictureType.I
    try:
        context = profile.open(settings, width, height, channels)
        packets = context.encode(frame)
    except av.error.FFmpegError as e:
        return str(e)
    profiles.drain(context)
    if len(packets) != 1 or not packets[0].is_keyframe:
        return f"coded the probe frame into {len(packets)} packets, not one keyframe"
    return None
