"""Bjøntegaard metrics against hand-computed values."""

import math

import numpy as np
import pytest

from pipeline.evaluation.bd_rate import CurveError, bd_psnr, bd_rate, pchip

RATES = [0.1, 0.2, 0.4, 0.8, 1.6]
PSNRS = [28.0, 31.5, 34.0, 36.0, 37.5]


def test_rates_scaled_by_0_8_save_exactly_20_percent():
    scaled = [0.8 * r for r in RATES]
    assert bd_rate(RATES, PSNRS, scaled, PSNRS) == pytest.approx(-20.0, abs=1e-9)
    assert bd_rate(scaled, PSNRS, RATES, PSNRS) == pytest.approx(25.0, abs=1e-9)


def test_identical_curves_give_zero():
    assert bd_rate(RATES, PSNRS, RATES, PSNRS) == pytest.approx(0.0, abs=1e-12)
    assert bd_psnr(RATES, PSNRS, RATES, PSNRS) == pytest.approx(0.0, abs=1e-12)


def test_straight_lines_with_partial_overlap_match_the_analytic_integral():
    # Anchor log10(R) = 0.1 P - 4 on P in [30, 40]; test log10(R) = 0.08 P - 3.5 on [34, 44].
    # PCHIP reproduces a straight line, so over the overlap [34, 40] the mean log-rate gap is
    # (1/6) * integral of (0.5 - 0.02 P) dP = 0.5 - 0.02 * 37 = -0.24.
    p_anchor = np.arange(30.0, 41.0, 2.0)
    p_test = np.arange(34.0, 45.0, 2.0)
    r_anchor = 10 ** (0.1 * p_anchor - 4)
    r_test = 10 ** (0.08 * p_test - 3.5)
    expected = (10**-0.24 - 1) * 100
    assert bd_rate(r_anchor, p_anchor, r_test, p_test) == pytest.approx(expected, abs=1e-9)


def test_bd_psnr_of_a_constant_rate_factor_on_a_log_linear_curve():
    # PSNR = 3 dB per doubling of rate; rates times 0.8 gain -log2(0.8) * 3 dB everywhere.
    rates = [0.05 * 2**k for k in range(5)]
    psnrs = [30.0 + 3 * k for k in range(5)]
    gain = -math.log2(0.8) * 3
    assert bd_psnr(rates, psnrs, [0.8 * r for r in rates], psnrs) == pytest.approx(gain, abs=1e-9)


def test_point_order_does_not_matter():
    order = [3, 0, 4, 1, 2]
    shuffled_r = [RATES[i] * 0.9 for i in order]
    shuffled_p = [PSNRS[i] + 0.3 for i in order]
    sorted_r = [r * 0.9 for r in RATES]
    sorted_p = [p + 0.3 for p in PSNRS]
    assert bd_rate(RATES, PSNRS, shuffled_r, shuffled_p) == pytest.approx(
        bd_rate(RATES, PSNRS, sorted_r, sorted_p)
    )


def test_curves_without_overlap_are_an_error():
    with pytest.raises(CurveError, match="do not overlap"):
        bd_rate(RATES, PSNRS, RATES, [p + 20 for p in PSNRS])


def test_bad_curves_are_errors():
    with pytest.raises(CurveError, match="two distinct"):
        bd_rate([0.1], [30.0], RATES, PSNRS)
    with pytest.raises(CurveError, match="positive"):
        bd_rate([0.0, 0.1], [30.0, 31.0], RATES, PSNRS)
    with pytest.raises(CurveError, match="non-finite"):
        bd_rate(RATES, [*PSNRS[:-1], math.inf], RATES, PSNRS)


def test_points_sharing_a_psnr_are_averaged():
    # Two settings at the same PSNR: the curve goes through their mean log-rate, so a straight
    # line through (30, -1), (40, 0) is unchanged by the pair (35, -0.6) and (35, -0.4).
    curve = pchip([30.0, 35.0, 35.0, 40.0], [-1.0, -0.6, -0.4, 0.0])
    np.testing.assert_allclose(curve.x, [30.0, 35.0, 40.0])
    assert curve(35.0) == pytest.approx(-0.5, abs=1e-12)
    assert curve.integrate(30.0, 40.0) == pytest.approx(-5.0, abs=1e-12)
