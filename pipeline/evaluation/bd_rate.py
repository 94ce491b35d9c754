"""Bjøntegaard delta rate and delta PSNR between two rate-distortion curves.

G. Bjøntegaard, "Calculation of average PSNR differences between RD-curves", VCEG-M33, 2001,
with the piecewise cubic (PCHIP, Fritsch-Carlson) interpolation that replaced the original cubic
polynomial fit (VCEG-AL22, JCTVC-B055) and that the common ``bjontegaard`` implementations use:
log10(rate) is interpolated as a function of PSNR for each curve with
:class:`scipy.interpolate.PchipInterpolator`, both interpolants are integrated exactly over the
PSNR range where the curves overlap, and the mean log-rate difference is turned into a percentage.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.interpolate import PchipInterpolator


class CurveError(ValueError):
    """A curve has too few points, non-finite values, or no overlap with the other curve."""


def bd_rate(
    rate_anchor: Sequence[float],
    psnr_anchor: Sequence[float],
    rate_test: Sequence[float],
    psnr_test: Sequence[float],
) -> float:
    """Average bit-rate difference of the test curve against the anchor, in percent.

    Negative means the test codec needs fewer bits for the same PSNR (-20.0 = 20 % saved).
    Rates may be in any unit (bpp, kbit/s) as long as both curves use the same one.
    Raises :class:`CurveError` when a curve has fewer than two distinct points or the PSNR
    ranges do not overlap.
    """
    log_a = np.log10(_positive(rate_anchor, "rate_anchor"))
    log_t = np.log10(_positive(rate_test, "rate_test"))
    mean_diff = _mean_difference(
        np.asarray(psnr_anchor, float), log_a, np.asarray(psnr_test, float), log_t
    )
    return float((10.0**mean_diff - 1.0) * 100.0)


def bd_psnr(
    rate_anchor: Sequence[float],
    psnr_anchor: Sequence[float],
    rate_test: Sequence[float],
    psnr_test: Sequence[float],
) -> float:
    """Average PSNR difference (dB) of the test curve over the anchor at equal rate.

    PSNR is interpolated over log10(rate) and integrated over the overlapping rate range;
    positive means the test codec is better.
    """
    log_a = np.log10(_positive(rate_anchor, "rate_anchor"))
    log_t = np.log10(_positive(rate_test, "rate_test"))
    return _mean_difference(
        log_a, np.asarray(psnr_anchor, float), log_t, np.asarray(psnr_test, float)
    )


def pchip(x: Sequence[float], y: Sequence[float]) -> PchipInterpolator:
    """The monotone cubic interpolant of y over x (Fritsch & Carlson 1980).

    Points are sorted by x; points sharing an x are averaged (two codec settings that give the
    same PSNR would otherwise make the curve undefined). Raises :class:`CurveError` on
    non-finite values or fewer than two distinct x.
    """
    unique_x, mean_y = _sorted_unique(np.asarray(x, float), np.asarray(y, float))
    return PchipInterpolator(unique_x, mean_y)


def _mean_difference(x_a: np.ndarray, y_a: np.ndarray, x_t: np.ndarray, y_t: np.ndarray) -> float:
    """Mean of (test - anchor) over the overlap of the x ranges, each curve PCHIP-interpolated."""
    curve_a = pchip(x_a, y_a)
    curve_t = pchip(x_t, y_t)
    low = max(curve_a.x[0], curve_t.x[0])
    high = min(curve_a.x[-1], curve_t.x[-1])
    if not high > low:
        raise CurveError(
            f"curves do not overlap: [{curve_a.x[0]:.4g}, {curve_a.x[-1]:.4g}] and "
            f"[{curve_t.x[0]:.4g}, {curve_t.x[-1]:.4g}]"
        )
    area = curve_t.integrate(low, high) - curve_a.integrate(low, high)
    return float(area / (high - low))


def _positive(values: Sequence[float], name: str) -> np.ndarray:
    array = np.asarray(values, float)
    if array.size and not np.all(array > 0):
        raise CurveError(f"{name} must be positive, got {array.tolist()}")
    return array


def _sorted_unique(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = x.ravel()
    y = y.ravel()
    if x.shape != y.shape:
        raise CurveError(f"x and y differ in length: {x.size} and {y.size}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise CurveError("curve has non-finite values")
    unique_x, inverse = np.unique(x, return_inverse=True)
    if unique_x.size < 2:
        raise CurveError(f"a curve needs at least two distinct points, got {unique_x.size}")
    sums = np.bincount(inverse, weights=y)
    counts = np.bincount(inverse)
    return unique_x, sums / counts
