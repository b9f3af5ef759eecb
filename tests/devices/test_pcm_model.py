"""Specification of the PCM compact model and the joshi2020 preset."""

import numpy as np
import pytest

from devicelab.devices import PCMModel, preset
from devicelab.errors import ConfigError

MICRO = 1e-6


def test_joshi2020_programming_sigma_matches_published_polynomial():
    model = preset("joshi2020")
    x = np.array([0.0, 0.5, 1.0])
    expected = (0.26348 + 1.9650 * x - 1.1731 * x**2) * MICRO
    np.testing.assert_allclose(model.sigma_prog(x * 25 * MICRO), expected, rtol=1e-12)


def test_joshi2020_drift_statistics_are_clipped_log_laws():
    model = preset("joshi2020")
    g = np.array([0.001, 0.1, 1.0]) * 25 * MICRO
    mean, std = model.nu_stats(g)
    np.testing.assert_allclose(mean, np.clip(-0.0155 * np.log([0.001, 0.1, 1.0]) + 0.0244, 0.049, 0.1))
    np.testing.assert_allclose(std, np.clip(-0.0125 * np.log([0.001, 0.1, 1.0]) - 0.0059, 0.008, 0.045))


def test_programming_noise_moments(rng):
    # 200k draws: the sample std has relative standard error 1/sqrt(2n) ~ 0.16%; allow 1% (6 sigma).
    model = preset("joshi2020")
    g_target = np.full(200_000, 10 * MICRO)
    g_prog = model.program(g_target, rng)
    assert abs(g_prog.mean() - 10 * MICRO) < 6 * model.sigma_prog(10 * MICRO) / np.sqrt(g_target.size)
    assert g_prog.std() == pytest.approx(model.sigma_prog(10 * MICRO), rel=0.01)


def test_drift_is_power_law_after_t0_and_identity_before():
    model = preset("joshi2020")
    g = np.array([5 * MICRO])
    nu = np.array([0.06])
    assert model.drift(g, nu, 10.0)[0] == g[0]
    np.testing.assert_allclose(model.drift(g, nu, 2000.0), g * 100.0**-0.06, rtol=1e-12)


def test_read_at_t_zero_is_noise_free_program_value(rng):
    model = preset("joshi2020")
    g_prog = np.array([1e-6, 10e-6])
    np.testing.assert_array_equal(model.read(g_prog, np.array([0.05, 0.05]), 0.0, rng), g_prog)


def test_sampling_clips_to_zero_and_g_clip(rng):
    model = preset("joshi2020")
    g = model.sample(np.array([0.0, 25 * MICRO] * 1000), [0.0, 1e6], rng)
    assert g.min() >= 0.0 and g.max() <= model.g_clip


def test_sampling_does_not_modify_inputs(rng):
    model = preset("joshi2020")
    g_target = np.linspace(0, 25e-6, 50)
    before = g_target.copy()
    model.sample(g_target, [1.0, 100.0], rng)
    np.testing.assert_array_equal(g_target, before)


def test_arrhenius_acceleration_speeds_up_drift():
    model = preset("joshi2020").replace(activation_energy=0.3)
    g, nu = np.array([5e-6]), np.array([0.05])
    hot = model.drift(g, nu, 1000.0, temperature=360.0)
    cold = model.drift(g, nu, 1000.0, temperature=300.0)
    assert hot[0] < cold[0]
    factor = np.exp(0.3 / 8.617333262e-5 * (1 / 300 - 1 / 360))
    np.testing.assert_allclose(hot, g * (1000.0 * factor / 20.0) ** -0.05, rtol=1e-12)


def test_dict_round_trip():
    model = preset("joshi2020").replace(v0=0.2, activation_energy=0.25)
    assert PCMModel.from_dict(model.to_dict()) == model


def test_unknown_preset_names_known_ones():
    with pytest.raises(ConfigError, match="joshi2020"):
        preset("nope")
