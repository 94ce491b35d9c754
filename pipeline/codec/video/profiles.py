"""FFmpeg's encoders for each video codec, at a camera's settings: one frame in, one packet out.

An :class:`EncoderProfile` names one FFmpeg encoder and the options that make it a camera's:
no B-frames and no look-ahead (a packet for every frame, as soon as the frame is in), a
keyframe every ``keyframe_interval`` frames and whenever one is forced (an IDR: the decoder
needs nothing from before it), the parameter sets in band before every keyframe (SPS and PPS,
VPS for HEVC, the AV1 sequence header), and constant quality (``crf``) or the encoder's own
rate control (``target_kbps``).

The software encoders are the PyAV wheel's: libx264, libx265 and SVT-AV1 (libsvtav1; the wheel
has no libaom). The hardware profiles (v4l2m2m, NVENC, Quick Sync) follow FFmpeg's documented
options for low-latency encoding; none of that hardware exists on the development machine, so
only their refusal to open is tested here (docs/video.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import av

from pipeline.codec.video.frames import GREY, YUV420
from pipeline.codec.video.settings import VideoSettings

Options = Callable[[VideoSettings], dict[str, str]]


@dataclass(frozen=True)
class EncoderProfile:
    """One FFmpeg encoder: its codec, whether it is hardware, the pixel formats it is fed
    (``grey_format`` for grey images: ``gray`` where the encoder codes 4:0:0, else
    ``yuv420p`` with neutral chroma) and its options at given settings."""

    name: str
    codec: str
    hardware: bool
    options: Options
    grey_format: str = YUV420
    colour_format: str = YUV420
    #: Environment the encoder's library reads when it first starts (set unless already set).
    environment: tuple[tuple[str, str], ...] = ()

    def pix_fmt(self, channels: int) -> str:
        """The pixel format this encoder is fed for images of ``channels`` (1 or 3)."""
        return self.grey_format if channels == 1 else self.colour_format

    def open(self, settings: VideoSettings, width: int, height: int, channels: int):
        """An opened encoder context (``av.error.FFmpegError`` when the encoder cannot open)."""
        for key, value in self.environment:
            os.environ.setdefault(key, value)
        context = av.CodecContext.create(self.name, "w")
        context.width, context.height = width, height
        context.pix_fmt = self.pix_fmt(channels)
        context.framerate = Fraction(settings.fps).limit_denominator(1001)
        context.time_base = 1 / context.framerate
        context.gop_size = settings.keyframe_interval
        context.max_b_frames = 0
        context.thread_count = settings.threads
        options = self.options(settings)
        if settings.target_kbps is not None:
            context.bit_rate = 1000 * settings.target_kbps
            # maxrate = bitrate: constant bitrate over a buffer of one second
            options |= {"maxrate": str(context.bit_rate), "bufsize": str(context.bit_rate)}
        context.options = options
        context.open()
        return context


def drain(context) -> list:
    """Flush an encoder context at the end of its stream (SVT-AV1 wants the end of stream before
    it is freed); the packets it still held."""
    try:
        return list(context.encode(None))
    except av.error.FFmpegError:  # already flushed, or never opened
        return []


def _params(**values: object) -> str:
    """``key=value:key=value``, the form of x264-params, x265-params and svtav1-params."""
    return ":".join(f"{key.replace('_', '-')}={value}" for key, value in values.items())


def _crf(s: VideoSettings, key: str = "crf") -> dict[str, str]:
    """Constant quality, unless the encoder's rate control holds ``target_kbps``."""
    return {} if s.target_kbps is not None else {key: str(s.quality)}


def _x26x(s: VideoSettings, library: str, preset: str, **extra: object) -> dict[str, str]:
    """x264's and x265's camera options: a keyframe exactly every interval (no scene cuts),
    no B-frames, no look-ahead, the parameter sets before every keyframe."""
    n = s.keyframe_interval
    params = _params(
        keyint=n, min_keyint=n, scenecut=0, bframes=0, rc_lookahead=0, repeat_headers=1, **extra
    )
    return {
        "preset": preset,
        "tune": "zerolatency",
        "forced-idr": "1",
        f"{library}-params": params,
        **_crf(s),
    }


X264_PRESET = "faster"
"""libx264's preset on a camera: 9.8% (karlsruhe_0023) and 6.6% (euroc_v1_01) fewer bits than
``veryfast`` at equal PSNR, for 1.05x its encode time at 640x480 (0.097x AVIF speed 8's;
docs/video.md, ``benchmarks/x264_presets.py``)."""


def _x264(s: VideoSettings) -> dict[str, str]:
    return _x26x(s, "x264", X264_PRESET, sync_lookahead=0)


def _x265(s: VideoSettings) -> dict[str, str]:
    return _x26x(s, "x265", "veryfast", pools=s.threads, frame_threads=1, log_level="error")


def _svtav1(s: VideoSettings) -> dict[str, str]:
    # rtc: SVT-AV1's real-time mode (low-delay prediction, no look-ahead); preset 10 codes a
    # 640x480 grey frame in about 3 ms on one thread here
    params = _params(rtc=1, pred_struct=1, keyint=s.keyframe_interval, scd=0, lp=s.threads)
    return {"preset": "10", "svtav1-params": params, **_crf(s)}


def _nvenc(s: VideoSettings) -> dict[str, str]:
    rate = {"rc": "cbr"} if s.target_kbps is not None else {"rc": "vbr", "cq": str(s.quality)}
    return {
        "preset": "p1",
        "tune": "ull",
        "zerolatency": "1",
        "delay": "0",
        "forced-idr": "1",
        **rate,
    }


def _qsv(s: VideoSettings) -> dict[str, str]:
    rate = {"low_delay_brc": "1"} if s.target_kbps is not None else {}
    return {
        "preset": "veryfast",
        "async_depth": "1",
        "look_ahead": "0",
        "forced_idr": "1",
        **rate,
        **_crf(s, "global_quality"),
    }


def _v4l2m2m(s: VideoSettings) -> dict[str, str]:
    # a bitrate only: these encoders have no constant-quality mode (docs/video.md)
    return {}


def _hardware(codec: str, *names_options: tuple[str, Options, str]) -> tuple[EncoderProfile, ...]:
    return tuple(
        EncoderProfile(
            f"{codec}_{suffix}", codec, True, options, colour_format=pix_fmt, grey_format=pix_fmt
        )
        for suffix, options, pix_fmt in names_options
    )


_V4L2M2M, _NVENC, _QSV = (
    ("v4l2m2m", _v4l2m2m, YUV420),
    ("nvenc", _nvenc, YUV420),
    ("qsv", _qsv, "nv12"),
)

HARDWARE_ENCODERS: dict[str, tuple[EncoderProfile, ...]] = {
    "h264": _hardware("h264", _V4L2M2M, _NVENC, _QSV),
    "hevc": _hardware("hevc", _V4L2M2M, _NVENC, _QSV),
    "av1": _hardware("av1", _NVENC, _QSV),
}
"""What ``encoder = "auto"`` tries first, in order: the first that opens and codes a probe frame
into one keyframe packet is used."""

SOFTWARE_ENCODERS: dict[str, EncoderProfile] = {
    "h264": EncoderProfile("libx264", "h264", False, _x264, grey_format=GREY),
    "hevc": EncoderProfile("libx265", "hevc", False, _x265, grey_format=GREY),
    # SVT_LOG=1: errors only, not SVT-AV1's banner of a dozen lines on every open
    "av1": EncoderProfile("libsvtav1", "av1", False, _svtav1, environment=(("SVT_LOG", "1"),)),
}
"""Each codec's software encoder: ``auto``'s fallback."""


def known_profiles(codec: str) -> dict[str, EncoderProfile]:
    """Every encoder of ``codec`` by FFmpeg name, hardware first."""
    profiles = (*HARDWARE_ENCODERS[codec], SOFTWARE_ENCODERS[codec])
    return {profile.name: profile for profile in profiles}
