"""Single-part fits: model-order selection, per-device drift, PSD, I-V, data-kind detection, warnings."""

import warnings

import lmfit
import numpy as np
import pytest

from devicelab.devices import FitOptions, classify_table, fit_pcm_model, preset
from devicelab.devices import synthetic as syn
from devicelab.devices.fit_drift import _folded_normal_invert, fit_device_drift, nu_level_stats
from devicelab.devices.fit_laws import fit_loglinear_clip, fit_polynomial_law, fit_power_law_clip
from devicelab.devices.fit_noise import fit_psd, relative_psd
from devicelab.devices.fit_program import fit_read_iv
from devicelab.devices.fitbase import part_from_lmfit
from devicelab.errors import ConfigError, FitQualityWarning
from devicelab.measurements import MeasurementTable


def test_polynomial_degree_chosen_by_bic_is_the_true_one(rng):
    # cubic truth with 1 % noise at 15 levels: the cubic term is 60 sigma, so BIC must keep degree 3 exactly
    g = np.linspace(1e-6, 20e-6, 15)
    x = g / 20e-6
    truth = (0.3 + 1.0 * x - 2.0 * x**2 + 1.5 * x**3) * 1e-6
    err = 0.01 * truth
    part = fit_polynomial_law(g, truth + err * rng.standard_normal(g.size), err, 20e-6, criterion="bic")
    assert len(part.params) == 4
    assert part.value("c3") == pytest.approx(1.5e-6, abs=4 * part.stderr("c3"))
    assert part.params["c0"].units == "S"


def test_polynomial_of_pure_noise_stays_constant(rng):
    g = np.linspace(1e-6, 20e-6, 12)
    part = fit_polynomial_law(g, 1e-6 + 1e-8 * rng.standard_normal(12), np.full(12, 1e-8), 20e-6)
    assert list(part.params) == ["c0"]


def test_loglinear_without_clips_in_data_picks_no_clip(rng):
    # a straight law with noise: over 10 draws no clip may be chosen (0 of 100 in a longer run); without the
    # rule that a fitted clip must rest on >= 2 levels, BIC picked a spurious clip in ~16 % of draws
    g = np.geomspace(1e-6, 25e-6, 12)
    y = 0.03 - 0.01 * np.log(g / 25e-6)
    for _ in range(10):
        part = fit_loglinear_clip(g, y + 5e-4 * rng.standard_normal(12), np.full(12, 5e-4), 25e-6)
        assert "no clip" in part.formula
        assert part.value("a1") == pytest.approx(-0.01, abs=5 * part.stderr("a1"))


def test_loglinear_finds_both_clips(rng):
    g = np.geomspace(0.2e-6, 25e-6, 14)
    y = np.clip(0.01 - 0.012 * np.log(g / 25e-6), 0.02, 0.06)
    part = fit_loglinear_clip(g, y + 4e-4 * rng.standard_normal(14), np.full(14, 4e-4), 25e-6)
    assert "both clips" in part.formula
    assert part.value("lo") == pytest.approx(0.02, abs=0.002)
    assert part.value("hi") == pytest.approx(0.06, abs=0.002)


def test_power_law_cap_found_when_several_levels_rest_on_it(rng):
    g = np.geomspace(0.1e-6, 25e-6, 12)
    q = np.minimum(0.01 / (g / 25e-6) ** 0.6, 0.15)
    part = fit_power_law_clip(g, q * (1 + 0.01 * rng.standard_normal(12)), 0.01 * q, 25e-6)
    assert "cap" in part.formula and "no cap" not in part.formula
    assert part.value("q_max") == pytest.approx(0.15, rel=0.03)


def test_per_device_drift_exponents_match_the_drawn_ones(rng):
    # no read noise worth mentioning: per-device nu must equal the drawn exponents to 1e-4
    model = preset("joshi2020").replace(read_noise=preset("joshi2020").read_noise.__class__(1e-6, 0.0))
    g_target = np.repeat([5e-6, 20e-6], 50)
    g_prog = model.program(g_target, rng)
    nu = model.drift_exponents(g_target, rng)
    times = np.geomspace(20, 1e5, 8)
    reads = np.stack([model.read(g_prog, nu, t, rng) for t in times])
    table = MeasurementTable(device=np.repeat(np.arange(100), 8), g_target=np.repeat(g_target, 8),
                             t=np.tile(times, 100), g=reads.T.ravel())
    drift = fit_device_drift(table, t0=model.t0, t_read=model.t_read)
    np.testing.assert_allclose(drift.nu, nu, atol=1e-4)
    np.testing.assert_allclose(drift.g_prog, g_prog, rtol=1e-4)


def test_folded_normal_inversion_recovers_mu_and_sigma(rng):
    # 10^6 draws of |N(0.02, 0.03)| (37 % folded): moments known to ~0.1 %; allow 2 %
    x = np.abs(0.02 + 0.03 * rng.standard_normal(1_000_000))
    mu, sigma = _folded_normal_invert(x.mean(), x.var())
    assert mu == pytest.approx(0.02, rel=0.02) and sigma == pytest.approx(0.03, rel=0.02)


def test_psd_of_one_over_f_series_gives_q_s_and_unit_exponent(rng):
    # 2^17 samples: ~40 log bins averaging >= 7 Welch estimates each; Q_s within 3 %, alpha within 0.03
    x = syn.one_over_f_noise(0.02, 2**17, 200.0, rng)
    part = fit_psd(relative_psd(5e-6 * (1 + x), 200.0))
    assert part.value("Q_s") == pytest.approx(0.02, rel=0.03)
    assert part.value("alpha") == pytest.approx(1.0, abs=0.03)
    assert part.params["A"].units == "1/Hz"


def test_white_floor_is_added_when_the_criterion_wants_it(rng):
    x = syn.one_over_f_noise(0.01, 2**16, 400.0, rng) + 2e-2 * rng.standard_normal(2**16)
    part = fit_psd(relative_psd(1e-5 * (1 + x), 400.0), white_floor=None)
    assert "W" in part.params
    # white PSD of N(0, s^2) sampled at fs is 2 s^2 / fs = 2e-6 /Hz, 3x the 1/f part at 160 Hz
    assert part.value("W") == pytest.approx(2 * 2e-2**2 / 400.0, rel=0.2)
    assert part.value("alpha") == pytest.approx(1.0, abs=0.05)


def test_read_iv_v0(rng):
    model = preset("joshi2020").replace(v0=0.2)
    table = syn.iv_sweeps(model, [5e-6, 20e-6], 4, np.linspace(-0.5, 0.5, 21), rng, rel_noise=0.005)
    part = fit_read_iv(table)
    assert part.value("V0") == pytest.approx(0.2, abs=4 * part.stderr("V0"))


def test_ohmic_iv_warns_that_v0_is_unconstrained(rng):
    table = syn.iv_sweeps(preset("joshi2020"), [5e-6], 3, np.linspace(-0.2, 0.2, 11), rng, rel_noise=0.001)
    with pytest.warns(FitQualityWarning, match="V0 .* is not constrained"):
        fit_read_iv(table)


def test_table_kinds_are_detected(rng):
    model = preset("joshi2020").replace(activation_energy=0.3)
    assert classify_table(syn.program_table(model, [5e-6], 10, rng)) == "programming"
    assert classify_table(syn.drift_table(model, [5e-6], 10, [20, 100, 1000], rng)) == "drift"
    assert classify_table(syn.bake_table(model, [5e-6], 10, [20, 100], [300, 350], rng)) == "bake"
    assert classify_table(syn.read_noise_series(model, [5e-6], 512, 10.0, rng)) == "timeseries"
    assert classify_table(syn.iv_sweeps(model, [5e-6], 2, [0.1, 0.2], rng)) == "iv"


def test_missing_parts_come_from_the_base_model_and_are_noted(rng):
    model = preset("joshi2020")
    drift = syn.drift_table(model, np.geomspace(2e-6, 25e-6, 5), 40, np.geomspace(20, 1e5, 6), rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitQualityWarning)
        result = fit_pcm_model(drift, base=model.replace(v0=0.3))
    assert result.model.v0 == 0.3
    assert any("nu laws: fitted from drift" in n for n in result.notes)
    assert "sigma_prog" in result.parts  # from the drift intercepts


def test_without_drift_data_or_base_the_error_says_what_is_missing(rng):
    table = syn.program_table(preset("joshi2020"), [5e-6, 10e-6], 20, rng)
    with pytest.raises(ConfigError, match="no drift data"):
        fit_pcm_model(table)


def test_bad_options_are_rejected():
    with pytest.raises(ConfigError, match="criterion"):
        FitOptions(criterion="r2")
    with pytest.raises(ConfigError, match="g_max"):
        FitOptions(g_max=-1.0)


def test_fits_do_not_modify_their_input_tables(rng):
    table = syn.drift_table(preset("joshi2020"), [5e-6, 20e-6], 20, [20, 200, 2000, 20000], rng)
    before = table.g.copy(), table.t.copy()
    fit_device_drift(table)
    np.testing.assert_array_equal(table.g, before[0])
    np.testing.assert_array_equal(table.t, before[1])


def test_growing_conductance_warns_that_drift_law_cannot_follow(rng):
    # G grows with time (nu = -0.03 for every device): the law nu >= 0 cannot represent it; say so
    model = preset("joshi2020").replace(nu_mean=preset("joshi2020").nu_mean.__class__(-0.03, 0.0, -1.0, 1.0),
                                        nu_std=preset("joshi2020").nu_std.__class__(0.0, 0.0))
    g_target = np.repeat([5e-6, 10e-6, 20e-6], 30)
    g_prog = model.program(g_target, rng)
    times = np.geomspace(20, 1e5, 6)
    reads = np.stack([model.drift(g_prog, np.full(g_prog.shape, -0.03), t) for t in times])
    table = MeasurementTable(device=np.repeat(np.arange(90), 6), g_target=np.repeat(g_target, 6),
                             t=np.tile(times, 90), g=reads.T.ravel() * (1 + 1e-3 * rng.standard_normal(540)))
    with pytest.warns(FitQualityWarning, match="negative"):
        stats = nu_level_stats(fit_device_drift(table))
    assert np.all(stats["mu"] == 0.0)


def test_quality_warnings_for_non_convergence_and_bounds():
    params = lmfit.Parameters()
    params.add("a", value=1.0, min=0.5, max=2.0)
    # the data want a = 0 but the bound stops it at 0.5
    result = lmfit.minimize(lambda p: np.array([p["a"].value, p["a"].value - 0.1]), params)
    with pytest.warns(FitQualityWarning, match="a sit on a bound"):
        part_from_lmfit("demo", "y = a", result)
    result = lmfit.minimize(lambda p: np.array([p["a"].value - 1.0, p["a"].value - 1.2]), params, max_nfev=1)
    with pytest.warns(FitQualityWarning, match="did not converge"):
        part_from_lmfit("demo", "y = a", result)
