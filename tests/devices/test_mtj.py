"""MTJ compact model: TMR bias law, lognormal spread, disturb law, presets, bad input, and the R_P/R_AP fit."""

from pathlib import Path

import numpy as np
import pytest

from devicelab.devices import MTJ_PRESETS, MTJModel, fit_mtj_resistances, mtj_preset
from devicelab.errors import ConfigError, InputFileError
from devicelab.measurements import ColumnMapping, MeasurementTable, read_measurements

ROOT = Path(__file__).resolve().parents[2]


def _generator():
    import importlib.util

    spec = importlib.util.spec_from_file_location("measurements_generate_mtj", ROOT / "measurements/generate_mtj.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tmr_halves_at_v_h():
    model = MTJModel(r_p=5e3, tmr0=1.5, v_h=0.4)
    assert model.tmr(0.0) == pytest.approx(1.5)
    assert model.tmr(0.4) == pytest.approx(0.75)
    assert model.tmr(-0.4) == pytest.approx(0.75)


def test_ap_resistance_follows_bias_and_p_does_not():
    model = MTJModel(r_p=5e3, tmr0=1.0, v_h=0.5)
    r = model.resistance([0, 1, 0, 1], v=[0.0, 0.0, 0.5, 0.5])
    np.testing.assert_allclose(r, [5e3, 10e3, 5e3, 7.5e3])


def test_tmr_must_be_positive():
    with pytest.raises(ConfigError, match="TMR must be > 0"):
        MTJModel(r_p=5e3, tmr0=0.0)
    with pytest.raises(ConfigError, match="TMR must be > 0"):
        MTJModel(r_p=5e3, tmr0=-0.2)


def test_r_ap_below_r_p_is_rejected():
    with pytest.raises(ConfigError, match="must exceed R_P"):
        MTJModel.from_resistances(5e3, 4e3)
    assert MTJModel.from_resistances(4e3, 10e3).tmr0 == pytest.approx(1.5)


def test_lognormal_spread_moments():
    """200k draws: the std of ln R is within 1 % of sigma (its relative standard error is 0.16 %)."""
    model = MTJModel(r_p=5e3, tmr0=1.5, sigma_p=0.05, sigma_ap=0.08)
    r_p, r_ap = model.sample_devices(200_000, np.random.default_rng(1))
    assert np.std(np.log(r_p)) == pytest.approx(0.05, rel=0.01)
    assert np.std(np.log(r_ap)) == pytest.approx(0.08, rel=0.01)
    assert np.exp(np.mean(np.log(r_ap))) == pytest.approx(model.r_ap, rel=0.002)


def test_switching_probability_closed_form_and_limits():
    model = MTJModel(r_p=5e3, tmr0=1.5, delta=40, ic0=50e-6, tau0=1e-9)
    expected = 1 - np.exp(-10e-9 / 1e-9 * np.exp(-40 * (1 - 25e-6 / 50e-6)))
    assert model.switching_probability(25e-6, 10e-9) == pytest.approx(expected, rel=1e-12)
    assert model.switching_probability(25e-6, 0.0) == 0.0
    assert model.switching_probability(49.9e-6, 1.0) == pytest.approx(1.0)
    with pytest.raises(ConfigError, match="Ic0"):
        model.switching_probability(60e-6, 1e-9)


def test_retention_worse_for_lower_stability():
    one_year = 3.15e7
    assert mtj_preset("ikeda2010").retention_failure_probability(one_year) > 0.01
    assert mtj_preset("pim_default").retention_failure_probability(one_year) < 1e-9


def test_presets_are_valid_and_cite_a_source():
    for name in MTJ_PRESETS:
        model = mtj_preset(name)
        assert model.name == name and model.source
    with pytest.raises(ConfigError, match="known presets"):
        mtj_preset("nope")


def _example_table():
    mapping = ColumnMapping.from_toml(ROOT / "measurements/mappings/example_mtj.toml")
    return read_measurements(ROOT / "measurements/mtj_resistance.csv", mapping)


def test_fit_recovers_the_example_truth_within_three_standard_errors():
    truth = _generator().TRUTH
    fit = fit_mtj_resistances(_example_table())
    assert abs(np.log(fit.p.median / truth.r_p)) < 3 * fit.p.median_rel_err
    assert abs(np.log(fit.ap.median / truth.r_ap)) < 3 * fit.ap.median_rel_err
    assert abs(fit.p.sigma - truth.sigma_p) < 3 * fit.p.sigma_err
    assert abs(fit.ap.sigma - truth.sigma_ap) < 3 * fit.ap.sigma_err
    model = fit.model()
    assert model.tmr0 == pytest.approx(fit.tmr0) and model.delta == mtj_preset("pim_default").delta


def test_example_file_equals_a_fresh_generation(tmp_path):
    assert _generator().generate(tmp_path).read_bytes() == (ROOT / "measurements/mtj_resistance.csv").read_bytes()


def _table(g_target, g, device):
    n = len(g)
    return MeasurementTable(device=np.asarray(device), g_target=np.asarray(g_target, float), t=np.zeros(n),
                            g=np.asarray(g, float), source="test.csv")


def test_fit_needs_two_states():
    with pytest.raises(InputFileError, match="exactly two written states"):
        fit_mtj_resistances(_table([1e-4] * 4, [1e-4] * 4, [0, 1, 2, 3]))


def test_fit_rejects_ap_reading_below_p():
    # the state written with the larger g_target reads the *higher* resistance: states swapped or mislabelled
    g_target = [2e-4] * 3 + [1e-4] * 3
    g = [1e-4, 1.01e-4, 0.99e-4, 2e-4, 2.02e-4, 1.98e-4]
    with pytest.raises(InputFileError, match="not above R_P"):
        fit_mtj_resistances(_table(g_target, g, range(6)))
