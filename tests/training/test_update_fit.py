"""Specification of the update-model fit: recovery of known laws from synthetic traces, the real traces."""

import numpy as np
import pytest

from devicelab.devices.update import SET, SpreadLaw, StepLaw, UpdateModel, nandakumar2018
from devicelab.devices.update_fit import fit_update_model, synthetic_pulse_table
from devicelab.measurements.pulses import read_pulse_trains

MICRO = 1e-6
LO, HI = 1 * MICRO, 21 * MICRO


def truth(d2d=0.0):
    return UpdateModel(g_min=LO, g_max=HI,
                       set_step=StepLaw("soft-bounds", "g", 1.0 * MICRO, 0.9, LO, HI),
                       set_spread=SpreadLaw(0.3 * MICRO, -0.1 * MICRO, LO, HI),
                       reset_step=StepLaw("exponential", "g", 0.8 * MICRO, -1.0, LO, HI),
                       reset_spread=SpreadLaw(0.2 * MICRO, 0.0, LO, HI), d2d=d2d, name="truth")


@pytest.fixture(scope="module")
def synthetic_fit():
    rng = np.random.default_rng(2024)
    table = synthetic_pulse_table(truth(), rng, n_devices=30, n_cycles=3, set_pulses=25, reset_pulses=25,
                                  read_noise=0.1 * MICRO)
    return fit_update_model(table)


def test_selection_recovers_the_generating_family_and_variable(synthetic_fit):
    for fit, family in ((synthetic_fit.set_fit, "soft-bounds"), (synthetic_fit.reset_fit, "exponential")):
        assert (fit.chosen.law.family, fit.chosen.law.variable) == (family, "g")


def test_fitted_mean_steps_match_the_truth_across_the_range(synthetic_fit):
    # ~2000 steps per polarity with spread ~0.25 uS: statistical error of the curve ~1-2 %; the saturation cut
    # and read noise on the regressor add a few %; allow 6 %.
    g = np.linspace(3, 15, 7) * MICRO
    model, true = synthetic_fit.model, truth()
    np.testing.assert_allclose(model.set_step(g=g), true.set_step(g=g), rtol=0.06)
    np.testing.assert_allclose(model.reset_step(g=g), true.reset_step(g=g), rtol=0.06)


def test_read_noise_is_separated_from_write_noise(synthetic_fit):
    # Lag-1 covariance from ~2000 steps: the read-noise std estimate is good to ~15 %; allow 25 %.
    for fit in (synthetic_fit.set_fit, synthetic_fit.reset_fit):
        assert fit.read_noise == pytest.approx(0.1 * MICRO, rel=0.25)
    g = np.linspace(3, 15, 7) * MICRO
    np.testing.assert_allclose(synthetic_fit.model.set_spread(g), truth().set_spread(g), rtol=0.15)
    np.testing.assert_allclose(synthetic_fit.model.reset_spread(g), truth().reset_spread(g), rtol=0.15)


def test_device_to_device_spread_is_recovered():
    rng = np.random.default_rng(7)
    table = synthetic_pulse_table(truth(d2d=0.25), rng, n_devices=60, n_cycles=2, set_pulses=25,
                                  reset_pulses=25)
    result = fit_update_model(table, variables=("g",))
    # 60 devices: the std of a d2d estimate is ~0.25 / sqrt(2 * 59) = 0.023; allow 0.07 (3 sigma).
    assert result.set_fit.d2d == pytest.approx(0.25, abs=0.07)
    assert result.d2d_source == "devices"


def test_abrupt_reset_is_detected_and_its_level_fitted(rng):
    table = synthetic_pulse_table(nandakumar2018(), rng, n_devices=40, n_cycles=4, set_pulses=20)
    result = fit_update_model(table)
    assert result.model.unidirectional and result.reset_fit is None
    # 160 RESET reads with std 0.05 uS: standard error 0.004 uS; allow 0.02 uS.
    assert result.model.abrupt_reset.g_reset == pytest.approx(0.1 * MICRO, abs=0.02 * MICRO)
    # From RESET, G and the pulse count carry the same information, so either variable may win; compare the
    # mean SET trajectories over 20 pulses (160 ramps: each point's standard error is ~1-2 %; allow 10 %).
    fitted = result.model.trajectory(20, SET, 0.1 * MICRO)[1:, 0]
    expected = nandakumar2018().trajectory(20, SET, 0.1 * MICRO)[1:, 0]
    np.testing.assert_allclose(fitted, expected, rtol=0.1)


def test_real_pulse_traces_fit_with_a_growing_set_step(shared_data):
    table = read_pulse_trains(shared_data / "pulse-trains")
    result = fit_update_model(table)
    model = result.model
    assert not model.unidirectional and result.d2d_source.startswith("ramps")
    steps = table.steps(SET)
    low = steps["g"] < 1.75e-3
    high = steps["g"] > 2.3e-3
    # The measured mean SET step grows from ~2.5 uS to ~7 uS across the range (binned means, n > 300 each);
    # the fitted model must reproduce both bins' means within 15 %.
    for mask in (low, high):
        predicted = model.set_step(g=steps["g"][mask], n=steps["n"][mask]).mean()
        assert predicted == pytest.approx(steps["dg"][mask].mean(), rel=0.15)
    assert model.set_step(g=2.4e-3, n=180) > 2 * model.set_step(g=1.65e-3, n=5)
    assert "SET" in result.fit_report() and "RESET" in result.fit_report()
