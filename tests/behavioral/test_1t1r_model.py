"""The behavioral model of 1T1R crossbars: device in series with the access transistor's on-resistance,
plus the transistor's first-order nonlinearity (source lifted by the column, drain-source drop)."""

import warnings

import numpy as np
import pytest

from devicelab.behavioral import (
    CrossbarModel,
    build_crossbar_model,
    format_error_table,
    load_crossbar_model,
    save_crossbar_model,
)
from devicelab.behavioral.build import nrms_error
from devicelab.behavioral.crossbar_model import CrossbarCircuit
from devicelab.errors import ConfigError, ValidityRangeWarning
from devicelab.spice.crossbar.nodal import solve_nodal
from devicelab.spice.crossbar.spec import AccessTransistor, CrossbarSpec, ideal_currents

WEAK = AccessTransistor(v_gate=0.9, w=0.3e-6)  # r_on = 1 / (kp W/L (v_gate - vt0)) = 4167 ohm


def _case(n, r_wire, transistor, device="linear", signed=False, seed=0):
    rng = np.random.default_rng(seed)
    g = rng.uniform(0.25e-6, 25e-6, (2, n, n))
    v = rng.uniform(-0.2 if signed else 0.0, 0.2, (8, n))
    v0 = 0.25 if device == "sinh" else None
    spec = CrossbarSpec(n, n, r_wire, r_wire, device=device, v0=v0, cell="1t1r", transistor=transistor,
                        differential=True)
    model = CrossbarModel.from_params(r_wire, r_wire, device=device, v0=v0, differential=True, cell="1t1r",
                                      transistor=transistor)
    return g, v, solve_nodal(spec, g, v), model


@pytest.mark.parametrize("signed", [False, True])
def test_weak_transistor_64x64_5_ohm_within_the_half_percent_target(signed):
    g, v, i_ref, model = _case(64, 5.0, WEAK, signed=signed)
    assert nrms_error(ideal_currents(g, v), i_ref) >= 0.10  # a case the target applies to
    assert nrms_error(model.bind(g).apply(v, dtype=np.float64), i_ref) <= 0.005


def test_the_transistor_nonlinearity_terms_matter_for_a_weak_transistor():
    # Without the quadratic terms (small-signal on-resistance only) the same case is several times worse:
    # measured 0.5 % vs 0.13 % at 128 x 128; at 64 x 64 the ratio is still > 2.
    g, v, i_ref, model = _case(64, 5.0, WEAK)
    bound = model.bind(g)
    full = nrms_error(bound.apply(v, dtype=np.float64), i_ref)
    linear_only = nrms_error(v @ (bound.a_t.astype(np.float64) @ bound.combine), i_ref)
    assert full < linear_only / 2


def test_a_passive_model_misses_the_access_transistor():
    g, v, i_ref, _ = _case(32, 2.0, WEAK)
    passive = CrossbarModel.from_params(2.0, 2.0, differential=True).bind(g).apply(v, dtype=np.float64)
    # the on-resistance is up to 10 % of the device resistance: a passive model is percents off
    assert nrms_error(passive, i_ref) > 0.01


def test_sinh_devices_behind_a_transistor_keep_the_passive_sinh_accuracy():
    # dense positive inputs at 64 x 64 / 5 ohm: the passive sinh model's error there is ~0.2-0.3 %
    g, v, i_ref, model = _case(64, 5.0, AccessTransistor(), device="sinh")
    assert nrms_error(model.bind(g).apply(v, dtype=np.float64), i_ref) <= 0.005


@pytest.mark.parametrize("v_gate", [0.5, 0.3])
def test_a_gate_at_or_below_threshold_is_an_error_naming_v_gate(v_gate):
    with pytest.raises(ConfigError, match=r"v_gate.*never conducts"):
        CrossbarCircuit(1.0, 1.0, cell="1t1r", transistor=AccessTransistor(v_gate=v_gate, vt0=0.5))


def test_a_transistor_on_a_passive_cell_is_an_error():
    with pytest.raises(ConfigError, match="transistor"):
        CrossbarCircuit(1.0, 1.0, cell="passive", transistor=AccessTransistor())


def test_on_resistance_outside_the_validity_range_warns():
    weaker = AccessTransistor(v_gate=0.7, w=0.3e-6)  # 8.3 kohm, beyond the benchmarked 4.2 kohm
    model = CrossbarModel.from_params(1.0, 1.0, cell="1t1r", transistor=weaker)
    with pytest.warns(ValidityRangeWarning, match="r_on"):
        model.bind(np.full((8, 8), 1e-6))


def test_inside_the_validity_range_nothing_warns():
    model = CrossbarModel.from_params(1.0, 1.0, cell="1t1r", transistor=WEAK)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.bind(np.full((8, 8), 1e-6))


@pytest.mark.spice
@pytest.mark.slow
def test_built_from_a_1t1r_sweep_meets_the_target_on_held_out_ngspice_runs(spice_sweep_1t1r):
    model = build_crossbar_model(spice_sweep_1t1r)
    table = model.error_table
    assert {row["cell"] for row in table} == {"1t1r"} and {row["reference"] for row in table} == {"ngspice"}
    assert {row["target"] for row in table} <= {"met", "n/a"}, format_error_table(table)
    assert any(row["err_ideal"] >= 0.10 for row in table), "the sweep must contain hard cases"


def test_built_from_a_nodal_1t1r_sweep_meets_the_target_and_keeps_the_transistor_range(nodal_sweep_1t1r,
                                                                                         tmp_path):
    model = build_crossbar_model(nodal_sweep_1t1r)
    table = model.error_table
    assert {row["cell"] for row in table} == {"1t1r"} and {row["reference"] for row in table} == {"nodal"}
    assert {row["target"] for row in table} <= {"met", "n/a"}, format_error_table(table)
    assert any(row["err_ideal"] >= 0.10 for row in table), "the sweep must contain hard cases"
    assert model.validity.cells == ("1t1r",)
    assert model.validity.v_gate == (0.9, 1.8)
    assert model.validity.r_on == pytest.approx((1 / (2e-3 * 1.3), 1 / (6e-4 * 0.4)))
    back = load_crossbar_model(save_crossbar_model(model, tmp_path / "m.h5"))
    assert back.circuit == model.circuit and back.validity == model.validity
    assert [row["r_on"] for row in back.error_table] == [row["r_on"] for row in table]


@pytest.mark.parametrize("cell", ["passive", "1t1r"])
def test_multi_device_unit_cells_are_modelled_as_the_physical_crossbar(cell):
    # 2 devices per polarity with significance (3, 1) on a 64 x 32 logical array = 64 x 128 physical
    # columns at 5 ohm: ideal is ~50 % off; the model stays within its 0.5 % target
    spec = CrossbarSpec(64, 32, 5.0, 5.0, cell=cell, differential=True, devices_per_polarity=2,
                        significance=(3.0, 1.0))
    rng = np.random.default_rng(4)
    g = rng.uniform(0.25e-6, 25e-6, spec.g_shape)
    v = rng.uniform(0, 0.2, (8, 64))
    i_ref = solve_nodal(spec, g, v)
    model = CrossbarModel.from_params(5.0, 5.0, differential=True, cell=cell, devices_per_polarity=2,
                                      significance=(3.0, 1.0))
    assert nrms_error(model.bind(g).apply(v, dtype=np.float64), i_ref) <= 0.005


def test_multi_device_circuit_survives_the_model_file(tmp_path):
    model = CrossbarModel.from_params(2.0, 2.0, differential=True, cell="1t1r", transistor=WEAK,
                                      devices_per_polarity=2, significance=(2.0, 1.0))
    back = load_crossbar_model(save_crossbar_model(model, tmp_path / "m.h5"))
    assert back.circuit == model.circuit


@pytest.mark.parametrize("cell, device", [("1t1r", "linear"), ("passive", "sinh"), ("1t1r", "sinh")])
def test_a_column_with_devices_on_even_rows_only_stays_accurate(cell, device):
    # A mapped weight column whose G+ devices all sit on even rows (e.g. one positive weight): the even/odd
    # loading split carries no information there; the model must not blow up (it once gave 50x the current).
    rng = np.random.default_rng(5)
    g = rng.uniform(1e-6, 2e-5, (9, 16))
    g[:, 1] = 0.0
    g[2, 1] = 5e-6
    v = rng.uniform(-0.2, 0.2, (8, 9))
    v0 = 0.25 if device == "sinh" else None
    kwargs = dict(device=device, v0=v0, cell=cell, **({"transistor": WEAK} if cell == "1t1r" else {}))
    i_ref = solve_nodal(CrossbarSpec(9, 16, 2.0, 2.0, **kwargs), g, v)
    i_model = CrossbarModel.from_params(2.0, 2.0, **kwargs).bind(g).apply(v, dtype=np.float64)
    assert nrms_error(i_model[:, 1], i_ref[:, 1]) <= 0.005


def test_a_multi_device_sweep_builds_a_model_that_meets_the_target(tmp_path):
    from devicelab.spice.sweep.run import run_sweep

    toml = tmp_path / "multi.toml"
    toml.write_text("""
name = "multi"
n_vectors = 6
repeats = 2
seed = 3
engines = ["nodal"]
[array]
sizes = [[16, 8]]
r_wire = [60.0]
cell = "1t1r"
differential = true
devices_per_polarity = 2
[[conductances]]
kind = "uniform"
g_min = 0.25e-6
g_max = 25e-6
[[inputs]]
kind = "dnn"
""")
    model = build_crossbar_model(run_sweep(toml, tmp_path / "multi.h5", progress=False))
    assert model.circuit.devices_per_polarity == 2
    table = model.error_table
    assert any(row["err_ideal"] >= 0.10 for row in table), format_error_table(table)
    assert {row["target"] for row in table} <= {"met", "n/a"}, format_error_table(table)
