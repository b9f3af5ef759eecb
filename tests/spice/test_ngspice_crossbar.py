"""Crossbars through real ngspice: hand-derived cases, and agreement with the nodal solver.

Tolerance 1e-6 relative (the solver's required agreement) for ngspice vs nodal; the netlists set
reltol=1e-9, so the observed disagreement is ~1e-10. Relative error is max |I_spice - I_nodal| over the
array divided by max |I_spice| (single outputs near zero would make a per-output ratio meaningless).
"""

import numpy as np
import pytest
from crossbar_cases import full_2x2_kcl

from devicelab.spice import AccessTransistor, CrossbarSpec, ideal_currents, simulate_ngspice, solve_nodal

pytestmark = pytest.mark.spice


def relative_error(reference, other):
    return np.max(np.abs(reference - other)) / np.max(np.abs(reference))


def test_ngspice_single_cell_is_a_series_circuit():
    spec = CrossbarSpec(1, 1, r_row=3.0, r_col=4.0, r_driver=100.0, r_sense=50.0)
    v = np.array([[0.2], [-0.1]])
    expected = v[:, 0] / (100.0 + 1e4 + 50.0)
    np.testing.assert_allclose(simulate_ngspice(spec, [[1e-4]], v)[:, 0], expected, rtol=1e-8)


def test_ngspice_2x2_with_all_resistances_matches_hand_written_kcl():
    spec = CrossbarSpec(2, 2, r_row=7.0, r_col=11.0, r_driver=13.0, r_sense=17.0)
    g = np.array([[1e-3, 2e-3], [5e-4, 4e-3]])
    v = np.array([[0.3, 0.1], [-0.2, 0.25]])
    np.testing.assert_allclose(simulate_ngspice(spec, g, v), full_2x2_kcl(g, v, 7.0, 11.0, 13.0, 17.0), rtol=1e-8)


def test_ngspice_zero_wire_resistance_gives_the_ideal_product(rng):
    spec = CrossbarSpec(5, 4)
    g = rng.uniform(0.25e-6, 25e-6, (5, 4))
    v = rng.uniform(-0.2, 0.2, (3, 5))
    np.testing.assert_allclose(simulate_ngspice(spec, g, v), ideal_currents(g, v), rtol=1e-8)


CASES = {
    "linear": dict(r_row=2.0, r_col=2.0),
    "linear_driver_sense": dict(r_row=2.0, r_col=3.0, r_driver=50.0, r_sense=20.0),
    "sinh": dict(r_row=2.0, r_col=2.0, r_sense=10.0, device="sinh", v0=0.15),
    "differential_sinh": dict(r_row=2.0, r_col=2.0, r_driver=5.0, device="sinh", v0=0.2, differential=True),
    "1t1r_linear": dict(r_row=2.0, r_col=2.0, cell="1t1r"),
    "1t1r_sinh_lambda": dict(r_row=2.0, r_col=2.0, r_sense=5.0, cell="1t1r", device="sinh", v0=0.2,
                             transistor=AccessTransistor(v_gate=1.0, lambda_=0.05)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_nodal_agrees_with_ngspice_on_16x16(case, rng):
    spec = CrossbarSpec(16, 16, **CASES[case])
    g = rng.uniform(0.25e-6, 25e-6, spec.g_shape)
    v = rng.uniform(-0.3, 0.3, (4, 16))
    assert relative_error(simulate_ngspice(spec, g, v), solve_nodal(spec, g, v)) < 1e-6


@pytest.mark.slow
@pytest.mark.parametrize("case", ["linear", "sinh"])
def test_nodal_agrees_with_ngspice_on_64x64(case, rng):
    spec = CrossbarSpec(64, 64, **CASES[case])
    g = rng.uniform(0.25e-6, 25e-6, spec.g_shape)
    v = rng.uniform(0.0, 0.2, (3, 64))
    assert relative_error(simulate_ngspice(spec, g, v), solve_nodal(spec, g, v)) < 1e-6


def test_many_vectors_in_one_analysis_equal_one_run_per_vector(rng):
    spec = CrossbarSpec(4, 3, r_row=3.0, r_col=3.0, r_driver=10.0, device="sinh", v0=0.2)
    g = rng.uniform(0.25e-6, 25e-6, (4, 3))
    v = rng.uniform(-0.3, 0.3, (3, 4))
    amortized = simulate_ngspice(spec, g, v)
    single = np.vstack([simulate_ngspice(spec, g, v[k:k + 1]) for k in range(3)])
    np.testing.assert_allclose(amortized, single, rtol=1e-8)


def test_cells_with_zero_conductance_carry_no_current():
    spec = CrossbarSpec(2, 2, r_row=1.0, r_col=1.0, device="sinh", v0=0.2)
    g = np.array([[0.0, 1e-5], [0.0, 2e-5]])
    out = simulate_ngspice(spec, g, [[0.2, 0.1]])
    assert out[0, 0] == 0.0
    assert relative_error(out, solve_nodal(spec, g, [[0.2, 0.1]])) < 1e-6


def test_forty_vectors_in_one_analysis_agree_with_nodal(rng):
    # 40 vectors: the pwl driver waveforms span several '+' continuation lines
    spec = CrossbarSpec(4, 3, r_row=3.0, r_col=3.0, device="sinh", v0=0.2)
    g = rng.uniform(0.25e-6, 25e-6, (4, 3))
    v = rng.uniform(-0.3, 0.3, (40, 4))
    assert relative_error(simulate_ngspice(spec, g, v), solve_nodal(spec, g, v)) < 1e-6
