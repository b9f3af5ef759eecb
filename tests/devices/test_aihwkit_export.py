"""aihwkit export: the exported coefficients, evaluated with aihwkit's published formulas, give our model.

The formulas below are re-implemented from IBM aihwkit, src/aihwkit/inference/noise/pcm.py
(PCMLikeNoiseModel.apply_programming_noise_to_conductance, .generate_drift_coefficients,
.apply_drift_noise_to_conductance; CustomDriftPCMLikeNoiseModel.generate_drift_coefficients), in uS as
aihwkit works. aihwkit itself is not needed.
"""

import json

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from devicelab.cli import cli
from devicelab.devices import preset, save_model
from devicelab.devices.aihwkit_export import aihwkit_parameters, export_aihwkit
from devicelab.devices.laws import LinearClip, PchipLaw
from devicelab.errors import ConfigError

MICRO = 1e-6


# ---- aihwkit's formulas (pcm.py), g in uS -----------------------------------------------------------
def aihwkit_sigma_prog(g_target, prog_coeff, g_max, prog_coeff_g_max_reference, **_):
    mat, sig = 1.0, prog_coeff[0]
    for coeff in prog_coeff[1:]:
        mat = mat * g_target / g_max
        sig = sig + mat * coeff
    return sig * g_max / prog_coeff_g_max_reference


def aihwkit_nu_law(g_target, g_max, law):
    g_relative = np.maximum(np.abs(g_target / g_max), 1e-7)  # _ZERO_CLIP
    lo = -np.inf if law["lo"] is None else law["lo"]
    hi = np.inf if law["hi"] is None else law["hi"]
    return np.clip(law["a1"] * np.log(g_relative) + law["a0"], lo, hi)


def aihwkit_q_s(g_prog, g_max, law):
    q_max = np.inf if law["q_max"] is None else law["q_max"]
    return np.minimum(law["c"] / np.maximum((np.abs(g_prog) / g_max) ** law["exponent"], 1e-3), q_max)


def aihwkit_custom_nu(g_target, table, key):
    g = np.clip(g_target, min(table["g_lst"]), max(table["g_lst"]))
    return np.interp(g, table["g_lst"], table[key])


# ---------------------------------------------------------------------------------------------------------
def _grid(model, n=60):
    lo, hi = model.g_range or (0.01 * model.g_max, model.g_max)
    return np.geomspace(lo, hi, n)


def test_preset_exports_aihwkits_own_constants_exactly():
    params, notes = aihwkit_parameters(preset("joshi2020"))
    assert params["kwargs"]["prog_coeff"] == pytest.approx([0.26348, 1.9650, -1.1731], rel=1e-12)
    assert params["kwargs"]["g_max"] == pytest.approx(25.0) and params["kwargs"]["t_0"] == 20.0
    assert params["kwargs"]["t_read"] == 250e-9
    mean, std = params["drift_nu_mean"], params["drift_nu_std"]
    assert (mean["a0"], mean["a1"], mean["lo"], mean["hi"]) == (0.0244, -0.0155, 0.049, 0.1)
    assert (std["a0"], std["a1"], std["lo"], std["hi"]) == (-0.0059, -0.0125, 0.008, 0.045)
    assert params["read_noise"] == {**params["read_noise"], "c": 0.0088, "exponent": 0.65, "q_max": 0.2}
    assert params["equals_aihwkit_hard_coded_constants"] == {"drift": True, "read_noise": True}
    assert not any("no aihwkit form" in n for n in notes)


@pytest.mark.parametrize("g_max", [25e-6, 40e-6])
def test_exported_coefficients_reproduce_the_model_through_aihwkits_formulas(g_max):
    # a rescaled, non-preset model: every law must come back through aihwkit's own evaluation
    base = preset("joshi2020")
    model = base.replace(g_max=g_max, prog_coeffs=tuple(c * 1.3 for c in base.prog_coeffs), g_range=(1e-6, g_max))
    params, _ = aihwkit_parameters(model)
    kw = params["kwargs"]
    g = _grid(model)
    g_us = g / MICRO
    # sigma_prog: 1e-12 relative (float round-off of the uS conversion)
    np.testing.assert_allclose(aihwkit_sigma_prog(g_us, **kw) * MICRO, model.sigma_prog(g), rtol=1e-12)
    mean, std = model.nu_stats(g)
    np.testing.assert_allclose(aihwkit_nu_law(g_us, kw["g_max"], params["drift_nu_mean"]), mean, rtol=1e-12)
    np.testing.assert_allclose(aihwkit_nu_law(g_us, kw["g_max"], params["drift_nu_std"]), std, rtol=1e-12)
    # Q_s: identical wherever (g/g_max)^exponent >= 1e-3 and g/g_max >= devicelab's floor 1e-3 (all of the range)
    np.testing.assert_allclose(aihwkit_q_s(g_us, kw["g_max"], params["read_noise"]), model.q_s(g), rtol=1e-12)


@pytest.mark.parametrize("law", [LinearClip(0.095, -0.07, lo=0.0, g_rel_min=0.04, g_rel_max=1.0),
                                 PchipLaw((0.04, 0.2, 0.45, 1.0), (0.09, 0.085, 0.045, 0.04), lo=0.0)],
                         ids=["linear", "pchip"])
def test_law_without_aihwkit_form_is_flagged_with_its_true_approximation_error(law):
    model = preset("joshi2020").replace(nu_mean=law, g_range=(1e-6, 25e-6))
    params, notes = aihwkit_parameters(model)
    entry = params["drift_nu_mean"]
    assert entry["exact"] is False and entry["fitted_law"] == law.law
    assert any("nu_mean" in n and "no aihwkit form" in n for n in notes)
    g = np.geomspace(1e-6, 25e-6, 1000)  # a denser grid than the exporter's: the stated error must hold here
    error = np.max(np.abs(aihwkit_nu_law(g / MICRO, params["kwargs"]["g_max"], entry) - model.nu_stats(g)[0]))
    assert error == pytest.approx(entry["max_abs_error"], rel=0.05)
    assert entry["max_abs_error"] < 0.25 * np.ptp(model.nu_stats(g)[0])  # a real best fit, not a constant
    # the CustomDriftPCMLikeNoiseModel table follows the fitted law to its stated error
    table = params["custom_drift_model"]
    table_error = np.max(np.abs(aihwkit_custom_nu(g / MICRO, table, "nu_mean_lst") - model.nu_stats(g)[0]))
    assert table_error <= table["max_abs_error_nu_mean"] * 1.05 + 1e-12
    # ... and is the faithful route: linear interpolation over 65 points is >= 5x closer than any log-linear law
    assert table["max_abs_error_nu_mean"] < entry["max_abs_error"] / 5


def test_cli_writes_json_and_reports_missing_counterparts_on_stderr(tmp_path):
    model = preset("joshi2020").replace(nu_std=LinearClip(0.03, -0.018, lo=0.0, g_rel_min=0.04, g_rel_max=1.0),
                                        g_range=(1e-6, 25e-6), name="lin")
    src = save_model(model, tmp_path / "m.h5")
    out = tmp_path / "noise_model.json"
    result = CliRunner().invoke(cli, ["model", "export-aihwkit", str(src), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "nu_std" in result.stderr and "no aihwkit form" in result.stderr
    data = json.loads(out.read_text())
    assert data["source_model"] == "lin" and data["drift_nu_std"]["exact"] is False
    assert data["g_range_uS"] == pytest.approx([1.0, 25.0])


def test_bad_model_file_is_one_clear_error_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.h5"
    with h5py.File(bad, "w") as h5:
        h5.attrs["format"] = "devicelab.sweep"
        h5.attrs["format_version"] = 1
    out = tmp_path / "noise_model.json"
    result = CliRunner().invoke(cli, ["model", "export-aihwkit", str(bad), "-o", str(out)])
    assert result.exit_code == 2
    assert "bad.h5" in result.stderr and "devicelab.device_model" in result.stderr
    assert not out.exists()


def test_failed_export_leaves_an_existing_file_untouched(tmp_path):
    out = tmp_path / "noise_model.json"
    out.write_text("previous")
    with pytest.raises(ConfigError):
        export_aihwkit(preset("joshi2020"), out, g_range=(2e-6, 1e-6))
    assert out.read_text() == "previous"
