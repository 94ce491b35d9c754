"""A video camera codec's settings: which codec and encoder, keyframes, quality or bitrate.

:class:`VideoSettings` is a frozen dataclass in the form of the project's configuration schemas
(:func:`pipeline.config.setting`), so a camera's TOML table can be parsed into it, and it checks
itself on construction: every problem is a ``ValueError`` that starts with the field's name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from pipeline.config import setting

VIDEO_CODECS: tuple[str, ...] = ("h264", "hevc", "av1")
"""The video camera codecs, in the order the evaluation lists them."""

CRF_RANGE: dict[str, tuple[int, int]] = {"h264": (0, 51), "hevc": (0, 51), "av1": (1, 63)}
"""Each codec's constant-quality scale (its software encoder's CRF), high quality first."""

DEFAULT_CRF: dict[str, int] = {"h264": 28, "hevc": 30, "av1": 40}
"""The CRF a camera uses when its configuration gives neither ``crf`` nor ``target_kbps``."""

AUTO = "auto"
TOP_QUALITY = 100
"""A video frame's quality (wire, container, SI-Net) is ``TOP_QUALITY - crf``: high is good, as
for the image codecs, and never 0 (the container's quality byte starts at 1)."""


def quality_of_crf(crf: int) -> int:
    """The quality a frame coded at ``crf`` carries (H.264 CRF 28 -> 72, AV1 CRF 40 -> 60)."""
    return TOP_QUALITY - crf


def crf_of_quality(quality: int) -> int:
    """The CRF of a frame of ``quality`` (:func:`quality_of_crf`'s inverse)."""
    return TOP_QUALITY - quality


@dataclass(frozen=True)
class VideoSettings:
    """How a camera encodes its view as a video stream (``docs/video.md``)."""

    codec: Literal["h264", "hevc", "av1"] = setting("h264", doc="video codec")
    encoder: str = setting(
        AUTO,
        doc="FFmpeg encoder name, or 'auto': the first hardware encoder that opens, "
        "else the software one",
    )
    keyframe_interval_s: float = setting(
        1.0,
        min=0.0,
        max=600.0,
        doc="seconds between keyframes (a decoder joins or recovers "
        "at the next one); at least one frame",
    )
    fps: float = setting(10.0, min=0.0, max=1000.0, doc="the camera's frame rate")
    crf: int | None = setting(
        None, min=0, max=63, doc="constant quality (the codec's CRF); unset = the codec's default"
    )
    target_kbps: int | None = setting(
        None,
        min=1,
        max=1_000_000,
        doc="bitrate held by the encoder's own rate control instead of constant quality",
    )
    threads: int = setting(1, min=1, max=64, doc="encoder threads")

    def __post_init__(self) -> None:
        _check(self.codec in VIDEO_CODECS, "codec", f"must be one of {VIDEO_CODECS}")
        _check(
            isinstance(self.encoder, str) and self.encoder.strip() != "",
            "encoder",
            "must be 'auto' or an FFmpeg encoder name",
        )
        _check(_positive(self.fps), "fps", f"must be a positive number, got {self.fps!r}")
        _check(
            _positive(self.keyframe_interval_s),
            "keyframe_interval_s",
            f"must be a positive number of seconds, got {self.keyframe_interval_s!r}",
        )
        if self.crf is not None:
            lo, hi = CRF_RANGE[self.codec]
            _check(
                _integer(self.crf) and lo <= self.crf <= hi,
                "crf",
                f"must be an integer in {lo}..{hi} for {self.codec}, got {self.crf!r}",
            )
            _check(self.target_kbps is None, "crf", "give crf or target_kbps, not both")
        if self.target_kbps is not None:
            _check(
                _integer(self.target_kbps) and self.target_kbps >= 1,
                "target_kbps",
                f"must be a positive integer, got {self.target_kbps!r}",
            )
        _check(
            _integer(self.threads) and 1 <= self.threads <= 64,
            "threads",
            f"must be an integer in 1..64, got {self.threads!r}",
        )

    @property
    def keyframe_interval(self) -> int:
        """Frames from one keyframe to the next (at least 1)."""
        return max(1, round(self.keyframe_interval_s * self.fps))

    @property
    def quality(self) -> int:
        """The CRF the encoder runs at (``crf`` or the codec's default); unused with
        ``target_kbps``."""
        return DEFAULT_CRF[self.codec] if self.crf is None else self.crf


def _check(ok: bool, field: str, reason: str) -> None:
    if not ok:
        raise ValueError(f"{field}: {reason}")


def _positive(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def _integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
