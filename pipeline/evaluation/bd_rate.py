"""Bjøntegaard delta rate and delta PSNR between two rate-distortion curves.

G. Bjøntegaard, "Calculation of average PSNR differences between RD-curves", VCEG-M33, 2001,
with the piecewise cubic (PCHIP, Fritsch-Carlson) interpolation that replaced the original cubic
polynomial fit (VCEG-AL22, JCTVC-B055) and that the common ``bjontegaard`` implementations use:
log10(rate) is interpolated as a function of PSNR for each curve, both interpolants are integrated
exactly over the PSNR range where the curves overlap, and the mean log-rate difference is turned
into a percentage. The PCHIP slopes follow ``scipy.interpolate.PchipInterpolator`` (tested against
it where SciPy is installed); SciPy itself is not needed.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np


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


def _mean_difference(x_a: np.ndarray, y_a: np.ndarray, x_t: np.ndarray, y_t: np.ndarray) -> float:
    """Mean of (test - anchor) over the overlap of the x ranges, each curve PCHIP-interpolated."""
    curve_a = Pchip(x_a, y_a)
    curve_t = Pchip(x_t, y_t)
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


class Pchip:
    """Monotone piecewise cubic Hermite interpolant (Fritsch & Carlson 1980) of y over x.

    Points are sorted by x; points sharing an x are averaged (two codec settings that give the
    same PSNR would otherwise make the curve undefined).
    """

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x, self.y = _sorted_unique(x, y)
        self.slopes = _pchip_slopes(self.x, self.y)

    def __call__(self, points: np.ndarray | float) -> np.ndarray:
        """Evaluate the interpolant (extrapolating with the end cubics outside the range)."""
        points = np.asarray(points, float)
        k = np.clip(np.searchsorted(self.x, points, side="right") - 1, 0, len(self.x) - 2)
        c0, c1, c2, c3 = self._coefficients(k)
        u = points - self.x[k]
        return c0 + u * (c1 + u * (c2 + u * c3))

    def integrate(self, low: float, high: float) -> float:
        """Exact integral of the interpolant from ``low`` to ``high`` (inside the x range)."""
        edges = np.concatenate(([low], self.x[(self.x > low) & (self.x < high)], [high]))
        total = 0.0
        for start, end in itertools.pairwise(edges):
            k = int(np.clip(np.searchsorted(self.x, start, side="right") - 1, 0, len(self.x) - 2))
            c0, c1, c2, c3 = (float(c) for c in self._coefficients(np.array(k)))
            u0, u1 = start - self.x[k], end - self.x[k]
            total += _poly_antiderivative(c0, c1, c2, c3, u1) - _poly_antiderivative(
                c0, c1, c2, c3, u0
            )
        return total

    def _coefficients(self, k: np.ndarray) -> tuple[np.ndarray, ...]:
        """Power-basis coefficients of segment k in u = x - x[k]."""
        h = self.x[k + 1] - self.x[k]
        delta = (self.y[k + 1] - self.y[k]) / h
        m0, m1 = self.slopes[k], self.slopes[k + 1]
        return self.y[k], m0, (3 * delta - 2 * m0 - m1) / h, (m0 + m1 - 2 * delta) / h**2


def _poly_antiderivative(c0: float, c1: float, c2: float, c3: float, u: float) -> float:
    return u * (c0 + u * (c1 / 2 + u * (c2 / 3 + u * c3 / 4)))


def _sorted_unique(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, float).ravel()
    y = np.asarray(y, float).ravel()
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


def _pchip_slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Derivatives at the knots, as scipy.interpolate.PchipInterpolator computes them."""
    h = np.diff(x)
    delta = np.diff(y) / h
    if x.size == 2:
        return np.array([delta[0], delta[0]])
    slopes = np.zeros_like(x)
    w1 = 2 * h[1:] + h[:-1]
    w2 = h[1:] + 2 * h[:-1]
    same_sign = (np.sign(delta[:-1]) * np.sign(delta[1:])) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        harmonic = (w1 + w2) / (w1 / delta[:-1] + w2 / delta[1:])
    slopes[1:-1] = np.where(same_sign, harmonic, 0.0)
    slopes[0] = _edge_slope(h[0], h[1], delta[0], delta[1])
    slopes[-1] = _edge_slope(h[-1], h[-2], delta[-1], delta[-2])
    return slopes


def _edge_slope(h0: float, h1: float, d0: float, d1: float) -> float:
    """One-sided three-point estimate, kept shape-preserving (SciPy's ``_edge_case``)."""
    slope = ((2 * h0 + h1) * d0 - h0 * d1) / (h0 + h1)
    if np.sign(slope) != np.sign(d0):
        return 0.0
    if np.sign(d0) != np.sign(d1) and abs(slope) > abs(3 * d0):
        return 3 * d0
    return float(slope)
