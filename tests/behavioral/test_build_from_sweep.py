"""Building a crossbar model from a small real ngspice-backed sweep and checking it on held-out runs.

The sweep (conftest ``spice_sweep``) has two independent draws of conductances and inputs per circuit;
the builder must calibrate on one half and report errors only on the other half, against ngspice.
"""

import math

import numpy as np
import pytest

from devicelab.behavioral import build_crossbar_model, check_crossbar_model, format_error_table
from devicelab.spice.sweep.results import read_sweep

pytestmark = pytest.mark.spice


@pytest.fixture(scope="module")
def built(spice_sweep):
    return build_crossbar_model(spice_sweep), read_sweep(spice_sweep)


def test_model_meets_the_target_on_held_out_ngspice_runs(built):
    model, _ = built
    table = model.error_table
    assert {row["target"] for row in table} <= {"met", "n/a"}, format_error_table(table)
    hard = [row for row in table if row["err_ideal"] >= 0.10]
    assert hard, "the sweep must contain cases where the ideal model is >= 10 % off"
    assert all(row["err_model"] <= 0.01 for row in hard)
    assert all(row["err_model"] <= row["err_ideal"] for row in table)


def test_error_table_holds_only_held_out_draws_against_ngspice(built):
    model, data = built
    held = set(model.provenance["held_out_points"])
    calib = set(model.provenance["calibration_points"])
    assert held and calib and not held & calib
    assert {row["point"] for row in model.error_table} == held
    seeds = {int(r.params["index"]): (r.params["seed_g"], r.params["seed_v"]) for r in data.records}
    assert not {seeds[k] for k in held} & {seeds[k] for k in calib}, "a held-out draw was used to calibrate"
    assert {row["reference"] for row in model.error_table} == {"ngspice"}
    assert {row["device"] for row in model.error_table} == {"linear", "sinh"}


def test_error_table_values_are_the_recomputed_errors(built):
    model, data = built
    rows = {row["point"]: row for row in check_crossbar_model(model, data)}
    for row in model.error_table:
        again = rows[row["point"]]
        assert again["err_model"] == pytest.approx(row["err_model"], rel=1e-6)
        assert again["err_ideal"] == pytest.approx(row["err_ideal"], rel=1e-12)
        rec = next(r for r in data.records if r.params["index"] == row["point"])
        i_ref = rec.currents["ngspice"]
        expected = np.sqrt(np.mean((rec.i_ideal - i_ref) ** 2) / np.mean(i_ref**2))
        assert row["err_ideal"] == pytest.approx(expected, rel=1e-12)


def test_validity_and_provenance_come_from_the_sweep(built):
    model, data = built
    v = model.validity
    assert v.rows == (8, 16) and v.cols == (8, 16)
    assert v.r_wire == (20.0, 80.0)
    assert v.devices == ("linear", "sinh")
    g_all = np.concatenate([r.g.ravel() for r in data.records])
    assert v.g == (g_all.min(), g_all.max())
    p = model.provenance
    assert p["ngspice_version"] == data.provenance["ngspice_version"]
    assert p["netlist_sha256"] and all(len(h) == 64 for h in p["netlist_sha256"])
    assert p["sweep_description_sha256"] == data.provenance["description_sha256"]
    assert 0.5 < model.settings.kappa3 < 2.0 and not math.isnan(model.settings.kappa3)
