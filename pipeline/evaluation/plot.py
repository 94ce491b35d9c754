"""Rate-distortion plots drawn with OpenCV (the project does not depend on matplotlib).

Two panels side by side: PSNR over bits per pixel, and MS-SSIM (in dB, -10 log10(1 - MS-SSIM))
over bits per pixel; one coloured polyline with point markers per codec, and a legend.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from pipeline.evaluation.summary import ms_ssim_db

COLOURS_BGR: dict[str, tuple[int, int, int]] = {
    "jpeg": (90, 90, 90),
    "webp": (60, 160, 40),
    "jpeg2000": (160, 60, 160),
    "avif": (0, 140, 255),
    "ours": (200, 110, 0),
    "ours_si": (30, 30, 220),
}
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_BLACK = (0, 0, 0)
_PANEL_W, _PANEL_H = 720, 600
_MARGIN_L, _MARGIN_R, _MARGIN_T, _MARGIN_B = 80, 20, 50, 60


@dataclass(frozen=True)
class _Axes:
    """Maps data coordinates to pixel coordinates inside one panel."""

    x_range: tuple[float, float]
    y_range: tuple[float, float]
    left: int = _MARGIN_L
    top: int = _MARGIN_T
    right: int = _PANEL_W - _MARGIN_R
    bottom: int = _PANEL_H - _MARGIN_B

    def to_pixel(self, x: float, y: float) -> tuple[int, int]:
        fx = (x - self.x_range[0]) / (self.x_range[1] - self.x_range[0])
        fy = (y - self.y_range[0]) / (self.y_range[1] - self.y_range[0])
        return (
            round(self.left + fx * (self.right - self.left)),
            round(self.bottom - fy * (self.bottom - self.top)),
        )


def plot_rd(codec_curves: dict[str, list[dict]], path: Path, title: str = "") -> None:
    """Write a PNG with the PSNR and MS-SSIM rate-distortion curves of every codec."""
    panels = [
        _panel(codec_curves, lambda p: p["psnr"], "PSNR (dB)", title),
        _panel(codec_curves, lambda p: ms_ssim_db(p["ms_ssim"]), "MS-SSIM (dB)", title),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), np.hstack(panels)):
        raise OSError(f"could not write {path}")


def _panel(
    codec_curves: dict[str, list[dict]],
    metric: Callable[[dict], float],
    y_label: str,
    title: str,
) -> np.ndarray:
    canvas = np.full((_PANEL_H, _PANEL_W, 3), 255, np.uint8)
    series = {
        name: [(p["bpp"], metric(p)) for p in points] for name, points in codec_curves.items()
    }
    xs = [x for pts in series.values() for x, _ in pts] or [1.0]
    ys = [y for pts in series.values() for _, y in pts] or [0.0, 1.0]
    axes = _Axes(_nice_range(0.0, max(xs)), _nice_range(min(ys), max(ys)))
    _draw_axes(canvas, axes, "bits per pixel", y_label, f"{title} {y_label.split()[0]}".strip())
    for name, points in series.items():
        _draw_series(canvas, axes, points, COLOURS_BGR.get(name, _BLACK))
    _draw_legend(canvas, axes, list(series))
    return canvas


def _nice_range(low: float, high: float) -> tuple[float, float]:
    if high <= low:
        high = low + 1.0
    step = _nice_step(high - low)
    return math.floor(low / step) * step, math.ceil(high / step) * step


def _nice_step(span: float, target_ticks: int = 6) -> float:
    raw = span / target_ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)


def _ticks(low: float, high: float) -> list[float]:
    step = _nice_step(high - low)
    count = round((high - low) / step)
    return [low + i * step for i in range(count + 1)]


def _draw_axes(canvas: np.ndarray, axes: _Axes, x_label: str, y_label: str, title: str) -> None:
    grid = (225, 225, 225)
    for x in _ticks(*axes.x_range):
        px, _ = axes.to_pixel(x, axes.y_range[0])
        cv2.line(canvas, (px, axes.top), (px, axes.bottom), grid, 1)
        _text(canvas, f"{x:g}", (px, axes.bottom + 20), centre=True)
    for y in _ticks(*axes.y_range):
        _, py = axes.to_pixel(axes.x_range[0], y)
        cv2.line(canvas, (axes.left, py), (axes.right, py), grid, 1)
        _text(canvas, f"{y:g}", (axes.left - 8, py + 5), align_right=True)
    cv2.rectangle(canvas, (axes.left, axes.top), (axes.right, axes.bottom), _BLACK, 1)
    _text(canvas, x_label, ((axes.left + axes.right) // 2, _PANEL_H - 18), centre=True)
    _text(canvas, title, ((axes.left + axes.right) // 2, 30), centre=True, scale=0.6)
    _vertical_text(canvas, y_label, (18, (axes.top + axes.bottom) // 2))


def _draw_series(
    canvas: np.ndarray, axes: _Axes, points: list[tuple[float, float]], colour: tuple[int, ...]
) -> None:
    pixels = np.array([axes.to_pixel(x, y) for x, y in points], np.int32)
    if len(pixels) > 1:
        cv2.polylines(canvas, [pixels], False, colour, 2, cv2.LINE_AA)
    for px, py in pixels:
        cv2.circle(canvas, (int(px), int(py)), 4, colour, -1, cv2.LINE_AA)


def _draw_legend(canvas: np.ndarray, axes: _Axes, names: list[str]) -> None:
    row_h, width = 22, 130
    x0 = axes.right - width - 10
    y0 = axes.bottom - row_h * len(names) - 10
    cv2.rectangle(canvas, (x0, y0), (axes.right - 10, axes.bottom - 10), (255, 255, 255), -1)
    cv2.rectangle(canvas, (x0, y0), (axes.right - 10, axes.bottom - 10), _BLACK, 1)
    for i, name in enumerate(names):
        y = y0 + row_h * i + row_h // 2 + 1
        colour = COLOURS_BGR.get(name, _BLACK)
        cv2.line(canvas, (x0 + 8, y), (x0 + 36, y), colour, 2, cv2.LINE_AA)
        cv2.circle(canvas, (x0 + 22, y), 4, colour, -1, cv2.LINE_AA)
        _text(canvas, name, (x0 + 44, y + 5))


def _text(
    canvas: np.ndarray,
    text: str,
    origin: tuple[int, int],
    centre: bool = False,
    align_right: bool = False,
    scale: float = 0.5,
) -> None:
    (width, _), _ = cv2.getTextSize(text, _FONT, scale, 1)
    x, y = origin
    if centre:
        x -= width // 2
    elif align_right:
        x -= width
    cv2.putText(canvas, text, (x, y), _FONT, scale, _BLACK, 1, cv2.LINE_AA)


def _vertical_text(canvas: np.ndarray, text: str, centre: tuple[int, int]) -> None:
    """Text rotated 90 degrees counter-clockwise (OpenCV only draws horizontal text)."""
    (width, height), base = cv2.getTextSize(text, _FONT, 0.5, 1)
    strip = np.full((height + base + 4, width + 4, 3), 255, np.uint8)
    cv2.putText(strip, text, (2, height + 2), _FONT, 0.5, _BLACK, 1, cv2.LINE_AA)
    strip = cv2.rotate(strip, cv2.ROTATE_90_COUNTERCLOCKWISE)
    top = centre[1] - strip.shape[0] // 2
    left = centre[0] - strip.shape[1] // 2
    canvas[top : top + strip.shape[0], left : left + strip.shape[1]] = strip
