"""Specification of the pulse-update model: step statistics, abrupt RESET, vectorized pulses, file round trip."""

import h5py
import numpy as np
import pytest

from devicelab.devices.update import (
    RESET,
    SET,
    AbruptReset,
    SpreadLaw,
    StepLaw,
    UpdateModel,
    load_update_model,
    nandakumar2018,
    save_update_model,
    update_preset,
)
from devicelab.errors import ConfigError, ModelFileError
from devicelab.files import write_header

MICRO = 1e-6


def gradual_model(d2d=0.0):
    lo, hi = 1 * MICRO, 21 * MICRO
    return UpdateModel(g_min=lo, g_max=hi,
                       set_step=StepLaw("soft-bounds", "g", 1.0 * MICRO, 0.9, lo, hi),
                       set_spread=SpreadLaw(0.3 * MICRO, -0.1 * MICRO, lo, hi),
                       reset_step=StepLaw("exponential", "g", 0.8 * MICRO, -1.0, lo, hi),
                       reset_spread=SpreadLaw(0.2 * MICRO, 0.0, lo, hi), d2d=d2d, name="test")


def test_step_families_follow_their_formulas():
    lo, hi = 0.0, 10 * MICRO
    g = np.array([2.0, 5.0]) * MICRO
    u = g / hi
    np.testing.assert_allclose(StepLaw("soft-bounds", "g", 1e-6, 0.5, lo, hi)(g=g), 1e-6 * (1 - 0.5 * u))
    np.testing.assert_allclose(StepLaw("exponential", "g", 1e-6, 2.0, lo, hi)(g=g), 1e-6 * np.exp(-2 * u))
    np.testing.assert_allclose(StepLaw("power-law", "g", 1e-6, -0.5, lo, hi)(g=g), 1e-6 * u**-0.5)
    n = np.array([0.0, 9.0])
    law = StepLaw("power-law", "n", 1e-6, 0.5, lo, hi, n_ref=10)
    np.testing.assert_allclose(law(n=n), 1e-6 * ((n + 1) / 10) ** 0.5)


def test_one_pulse_step_has_the_model_mean_and_spread(rng):
    # 100k devices: standard error of the mean step = 0.3 uS / sqrt(1e5) ~ 1e-3 uS; allow 5e-3 uS (5 sigma).
    model = gradual_model()
    g = np.full(100_000, 6 * MICRO)
    dg = model.pulse(g, SET, rng) - g
    assert dg.mean() == pytest.approx(float(model.set_step(g=6 * MICRO)), abs=5e-3 * MICRO)
    # sample std relative error ~ 1/sqrt(2n) = 0.2 %; allow 1 %.
    assert dg.std() == pytest.approx(float(model.set_spread(6 * MICRO)), rel=0.01)
    dg_reset = model.pulse(g, RESET, rng) - g
    assert dg_reset.mean() == pytest.approx(-float(model.reset_step(g=6 * MICRO)), abs=5e-3 * MICRO)


def test_conductance_stays_within_the_device_range(rng):
    model = gradual_model()
    g_top, _ = model.apply_pulses(np.full(1000, 20.9 * MICRO), 50, SET, rng)
    g_bottom, _ = model.apply_pulses(np.full(1000, 1.1 * MICRO), 50, RESET, rng)
    assert g_top.max() <= model.g_max and g_bottom.min() >= model.g_min


def test_abrupt_reset_lands_at_the_reset_state_whatever_the_start(rng):
    model = nandakumar2018()
    g = model.pulse(np.linspace(1, 19, 50_000) * MICRO, RESET, rng)
    # mean of 50k draws with std 0.05 uS: standard error 2e-4 uS; allow 2e-3 uS.
    assert g.mean() == pytest.approx(0.1 * MICRO, abs=2e-3 * MICRO)
    assert model.unidirectional


def test_apply_pulses_leaves_devices_with_zero_pulses_untouched_and_counts_pulses(rng):
    model = gradual_model()
    g0 = np.full(3, 5e-6)
    g, n = model.apply_pulses(g0, np.array([0, 1, 3]), SET, rng, n=np.array([2.0, 0.0, 0.0]))
    assert g[0] == g0[0] and g[1] != g0[1] and g[2] != g0[2]
    np.testing.assert_array_equal(n, [2, 1, 3])
    np.testing.assert_array_equal(g0, np.full(3, 5e-6))  # input not modified


def test_device_scales_have_the_d2d_spread(rng):
    scales = gradual_model(d2d=0.2).device_scales(200_000, rng)
    # std of 200k draws: relative standard error 0.16 %; allow 1 %.
    assert scales.mean() == pytest.approx(1.0, abs=0.003) and scales.std() == pytest.approx(0.2, rel=0.01)


def test_model_needs_exactly_one_kind_of_reset():
    model = gradual_model()
    with pytest.raises(ConfigError, match="either"):
        model.replace(abrupt_reset=AbruptReset(0.1e-6))
    with pytest.raises(ConfigError):
        update_preset("nope")


def test_spread_law_is_linear_in_g_or_in_the_pulse_count():
    lo, hi = 0.0, 10 * MICRO
    np.testing.assert_allclose(SpreadLaw(1e-7, 2e-7, lo, hi)(np.array([5e-6])), [2e-7])
    np.testing.assert_allclose(SpreadLaw(1e-7, 2e-7, lo, hi, variable="n", n_ref=10)(np.zeros(2), np.array([0, 5])),
                               [1e-7, 2e-7])


def test_update_model_file_round_trip_keeps_every_field(tmp_path):
    n_spread = gradual_model().replace(reset_spread=SpreadLaw(0.3e-6, -0.1e-6, 1e-6, 21e-6, variable="n"))
    for model in (nandakumar2018(), gradual_model(d2d=0.1), n_spread):
        path = tmp_path / f"{model.name}.h5"
        save_update_model(path, model, {"source": "test"})
        assert load_update_model(path) == model
        with h5py.File(path) as fh:
            assert fh["update_model/g_max"].attrs["units"] == "S"


def test_update_group_is_added_to_an_existing_device_model_file_without_touching_it(tmp_path):
    path = tmp_path / "device.h5"
    with h5py.File(path, "w") as fh:
        write_header(fh, "devicelab.device_model", 1, {"fit": "drift"})
        fh.create_dataset("pcm/g_max", data=25e-6)
    save_update_model(path, nandakumar2018())
    with h5py.File(path) as fh:
        assert fh["pcm/g_max"][()] == 25e-6 and "update_model" in fh
    assert load_update_model(path) == nandakumar2018()


def test_loading_rejects_other_formats_and_missing_groups(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as fh:
        write_header(fh, "devicelab.sweep", 1, {})
    with pytest.raises(ModelFileError, match="device_model"):
        load_update_model(path)
    path = tmp_path / "bare.h5"
    with h5py.File(path, "w") as fh:
        write_header(fh, "devicelab.device_model", 1, {})
    with pytest.raises(ModelFileError, match="update_model"):
        load_update_model(path)


def test_update_model_coexists_with_a_fitted_pcm_model_file(tmp_path):
    from devicelab.devices import preset
    from devicelab.devices.modelfile import load_model, save_model

    path = tmp_path / "pcm.h5"
    save_model(preset("joshi2020"), path)
    save_update_model(path, nandakumar2018())
    assert load_model(path) == preset("joshi2020")
    assert load_update_model(path) == nandakumar2018()
