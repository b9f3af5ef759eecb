"""Static ADC metrics on hand-made transfer curves with known answers (no simulator)."""

import numpy as np
import pytest

from devicelab.errors import DevicelabError
from devicelab.spice.adc.metrics import enob_from_sweep, ideal_transitions, linearity, transitions_from_sweep

BITS, V_MIN, V_MAX = 3, 0.0, 0.8
LSB = (V_MAX - V_MIN) / 2**BITS  # 0.1 V
IDEAL = ideal_transitions(BITS, V_MIN, V_MAX)


def test_ideal_transitions_are_multiples_of_the_lsb():
    np.testing.assert_allclose(IDEAL, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7], rtol=0, atol=1e-15)


def test_ideal_converter_has_no_offset_gain_error_inl_or_dnl():
    lin = linearity(IDEAL, BITS, V_MIN, V_MAX)
    for value in (lin.offset, lin.gain_error, lin.offset_endpoint, lin.gain_error_endpoint, lin.max_inl,
                  lin.max_inl_endpoint, lin.max_dnl):
        assert abs(value) < 1e-12
    assert lin.missing_codes == ()


def test_pure_offset_shifts_offset_only():
    lin = linearity(IDEAL + 0.013, BITS, V_MIN, V_MAX)
    assert lin.offset == pytest.approx(0.013, abs=1e-12)
    assert lin.offset_endpoint == pytest.approx(0.013, abs=1e-12)
    assert abs(lin.gain_error) < 1e-12 and lin.max_inl < 1e-10 and lin.max_dnl < 1e-10


def test_wider_codes_give_negative_gain_error_of_the_width_ratio():
    # every code 10 % wider: 1/1.1 codes per ideal code, offset measured at the first transition
    t = V_MIN + 1.1 * LSB * np.arange(1, 2**BITS)
    lin = linearity(t, BITS, V_MIN, V_MAX)
    assert lin.gain_error == pytest.approx(1 / 1.1 - 1, rel=1e-12)
    assert lin.gain_error_endpoint == pytest.approx(1 / 1.1 - 1, rel=1e-12)
    assert lin.offset == pytest.approx(0.01, abs=1e-12)  # T_1 = 0.11 V instead of 0.1 V
    assert lin.max_inl < 1e-10 and lin.max_dnl < 1e-10


def test_one_shifted_transition_gives_known_inl_and_dnl():
    d = 0.5  # LSB: transition 3 moved up by half an LSB; code 2 is 1.5 LSB wide, code 3 0.5 LSB
    t = IDEAL.copy()
    t[2] += d * LSB
    lin = linearity(t, BITS, V_MIN, V_MAX)
    np.testing.assert_allclose(lin.dnl, [0, d, -d, 0, 0, 0], atol=1e-12)
    np.testing.assert_allclose(lin.inl_endpoint, [0, 0, d, 0, 0, 0, 0], atol=1e-12)
    # least-squares line over k = 1..7 (mean 4, sum of squares 28): slope LSB (1 - d/28), and
    # intercept such that the line passes through (4, T_mean) with T_mean = 0.4 + d LSB / 7
    slope = LSB * (1 - d / 28)
    line = (0.4 + d * LSB / 7) + slope * (np.arange(1, 8) - 4)
    np.testing.assert_allclose(lin.inl_bestfit, (t - line) / slope, atol=1e-12)
    assert lin.inl_bestfit[2] == pytest.approx(d * (1 - 1 / 7 - 1 / 28) / (1 - d / 28), rel=1e-12)


def test_missing_code_has_dnl_of_minus_one():
    t = IDEAL.copy()
    t[3] = t[2]  # code 3 never occurs
    lin = linearity(t, BITS, V_MIN, V_MAX)
    assert lin.missing_codes == (3,)
    assert lin.dnl[2] == pytest.approx(-1.0, abs=1e-12)


def test_transitions_from_sweep_are_within_half_a_step_of_the_true_ones():
    true = IDEAL + np.array([0.01, -0.02, 0.0, 0.03, 0.005, -0.01, 0.02])
    v = np.linspace(-0.1, 0.9, 1001)
    codes = np.searchsorted(true, v, side="right")
    est = transitions_from_sweep(v, codes, BITS)
    assert np.max(np.abs(est - true)) <= (v[1] - v[0]) / 2 + 1e-12


def test_transitions_from_sweep_rejects_a_sweep_that_misses_the_top_code():
    v = np.linspace(-0.1, 0.65, 100)
    with pytest.raises(DevicelabError, match="widen the sweep"):
        transitions_from_sweep(v, np.searchsorted(IDEAL, v, side="right"), BITS)


def test_transitions_from_sweep_rejects_non_uniform_inputs():
    v = np.sort(np.random.default_rng(1).uniform(-0.1, 0.9, 200))
    with pytest.raises(DevicelabError, match="uniform"):
        transitions_from_sweep(v, np.searchsorted(IDEAL, v, side="right"), BITS)


def test_enob_of_an_ideal_quantizer_is_its_resolution():
    # dense uniform sweep: the quantization error is uniform over one LSB, rms LSB/sqrt(12) to < 0.1 %
    v = np.linspace(V_MIN, V_MAX, 80001)
    codes = np.clip(np.floor((v - V_MIN) / LSB), 0, 2**BITS - 1)
    assert enob_from_sweep(v, codes, BITS, V_MIN, V_MAX, fit=False) == pytest.approx(BITS, abs=0.01)
    assert enob_from_sweep(v, codes, BITS, V_MIN, V_MAX, fit=True) == pytest.approx(BITS, abs=0.01)


def test_enob_of_a_quantizer_with_half_the_codes_is_one_bit_less():
    # even codes only (2-LSB steps): after removing the best-fit offset (half an LSB) the error is uniform
    # over 2 LSB, rms 2 LSB / sqrt(12), i.e. one bit less
    v = np.linspace(V_MIN, V_MAX, 80001)
    codes = 2 * np.clip(np.floor((v - V_MIN) / (2 * LSB)), 0, 2**(BITS - 1) - 1)
    assert enob_from_sweep(v, codes, BITS, V_MIN, V_MAX, fit=True) == pytest.approx(BITS - 1, abs=0.01)
