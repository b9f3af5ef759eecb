"""The sparse nodal solver against hand-derived circuits (no ngspice needed).

Tolerances: linear cases are solved by one sparse LU, exact to rounding (1e-12 relative leaves margin for
conditioning ~1e6 of the wire/device conductance ratio); nonlinear cases stop Newton at
|dV| < 1e-13 V + 1e-12 |V|, so currents agree with the bisection references to ~1e-10 relative.
"""

import numpy as np
import pytest
from crossbar_cases import bisect, full_2x2_kcl

from devicelab.errors import ConfigError
from devicelab.spice import AccessTransistor, CrossbarSpec, ideal_currents, solve_nodal
from devicelab.spice.crossbar.spec import GMIN


def test_single_cell_with_driver_and_sense_resistance_is_a_series_circuit():
    spec = CrossbarSpec(1, 1, r_row=3.0, r_col=4.0, r_driver=100.0, r_sense=50.0)
    g = np.array([[1e-4]])
    v = np.array([[0.2], [-0.1]])
    expected = v[:, 0] / (100.0 + 1 / 1e-4 + 50.0)
    np.testing.assert_allclose(solve_nodal(spec, g, v)[:, 0], expected, rtol=1e-12)


def test_2x2_with_row_resistance_only_is_a_ladder_per_row():
    r_d, r_r = 30.0, 20.0
    spec = CrossbarSpec(2, 2, r_row=r_r, r_driver=r_d)
    g = np.array([[1e-3, 2e-3], [5e-4, 4e-3]])
    v = np.array([[0.3, 0.1]])
    expected = np.zeros(2)
    for i in range(2):
        far = r_r + 1 / g[i, 1]
        r_total = r_d + 1 / (g[i, 0] + 1 / far)
        v_near = v[0, i] - r_d * v[0, i] / r_total
        expected += [v_near * g[i, 0], v_near / far]
    np.testing.assert_allclose(solve_nodal(spec, g, v)[0], expected, rtol=1e-12)


def test_2x2_with_column_resistance_only_follows_cramers_rule():
    r_c, r_s = 25.0, 40.0
    spec = CrossbarSpec(2, 2, r_col=r_c, r_sense=r_s)
    g = np.array([[1e-3, 2e-3], [5e-4, 4e-3]])
    v0, v1 = 0.3, -0.2
    a, b = 1 / r_c, 1 / r_s
    expected = []
    for j in range(2):
        g0, g1 = g[0, j], g[1, j]
        det = (g0 + a) * (g1 + a + b) - a * a
        c1 = ((g0 + a) * g1 * v1 + a * g0 * v0) / det
        expected.append(c1 * b)
    np.testing.assert_allclose(solve_nodal(spec, g, [[v0, v1]])[0], expected, rtol=1e-12)


def test_2x2_with_all_resistances_matches_hand_written_kcl():
    spec = CrossbarSpec(2, 2, r_row=7.0, r_col=11.0, r_driver=13.0, r_sense=17.0)
    g = np.array([[1e-3, 2e-3], [5e-4, 4e-3]])
    v = np.array([[0.3, 0.1], [-0.2, 0.25]])
    np.testing.assert_allclose(solve_nodal(spec, g, v), full_2x2_kcl(g, v, 7.0, 11.0, 13.0, 17.0), rtol=1e-12)


def test_zero_wire_resistance_gives_the_ideal_product(rng):
    spec = CrossbarSpec(9, 5)
    g = rng.uniform(0.25e-6, 25e-6, (9, 5))
    v = rng.uniform(-0.2, 0.2, (4, 9))
    np.testing.assert_allclose(solve_nodal(spec, g, v), ideal_currents(g, v), rtol=1e-12)


def test_zero_wire_differential_gives_the_difference_of_products(rng):
    spec = CrossbarSpec(6, 3, differential=True)
    g = rng.uniform(0.25e-6, 25e-6, (2, 6, 3))
    v = rng.uniform(-0.2, 0.2, (3, 6))
    np.testing.assert_allclose(solve_nodal(spec, g, v), v @ g[0] - v @ g[1], rtol=1e-10, atol=1e-18)


def test_sinh_cell_without_wires_follows_the_iv_curve():
    spec = CrossbarSpec(1, 1, device="sinh", v0=0.1)
    v = np.array([[0.05], [0.3], [-0.25]])
    expected = 2e-5 * 0.1 * np.sinh(v[:, 0] / 0.1)
    np.testing.assert_allclose(solve_nodal(spec, [[2e-5]], v)[:, 0], expected, rtol=1e-10)


def test_sinh_cell_with_series_resistance_matches_bisection():
    r_series = 5e3 + 2e3
    spec = CrossbarSpec(1, 1, r_driver=5e3, r_sense=2e3, device="sinh", v0=0.15)
    g, volts = 1e-4, 0.4
    current = bisect(lambda i: i - g * 0.15 * np.sinh((volts - i * r_series) / 0.15), 0.0, volts / r_series)
    np.testing.assert_allclose(solve_nodal(spec, [[g]], [[volts]])[0, 0], current, rtol=1e-10)


def test_1t1r_cell_in_linear_region_matches_bisection():
    t = AccessTransistor(v_gate=1.2, vt0=0.4, kp=100e-6, w=1e-6, l=1e-6)
    spec = CrossbarSpec(1, 1, cell="1t1r", transistor=t)
    g, volts = 1e-4, 0.3

    def excess(vm):  # current into the drain node minus current out of it, as a function of V(m)
        return g * (volts - vm) - t.beta * vm * (t.v_gate - t.vt0 - vm / 2) - GMIN * vm

    vm = bisect(lambda x: -excess(x), 0.0, volts)
    expected = t.beta * vm * (t.v_gate - t.vt0 - vm / 2)
    np.testing.assert_allclose(solve_nodal(spec, [[g]], [[volts]])[0, 0], expected, rtol=1e-10)


def test_1t1r_cell_with_gate_below_threshold_only_leaks_gmin():
    spec = CrossbarSpec(2, 2, cell="1t1r", transistor=AccessTransistor(v_gate=0.2, vt0=0.5))
    out = solve_nodal(spec, np.full((2, 2), 1e-4), [[0.3, 0.3]])
    assert np.all(np.abs(out) < 4 * GMIN * 0.3)


def test_batch_of_vectors_equals_one_solve_per_vector(rng):
    spec = CrossbarSpec(7, 6, r_row=2.0, r_col=3.0, r_driver=10.0, device="sinh", v0=0.2)
    g = rng.uniform(0.25e-6, 25e-6, (7, 6))
    v = rng.uniform(-0.3, 0.3, (5, 7))
    batch = solve_nodal(spec, g, v)
    single = np.vstack([solve_nodal(spec, g, v[k:k + 1]) for k in range(5)])
    np.testing.assert_allclose(batch, single, rtol=1e-9)


def test_current_is_conserved_from_drivers_to_sense_nodes(rng):
    spec = CrossbarSpec(8, 5, r_row=5.0, r_col=5.0, r_driver=20.0, r_sense=10.0, device="sinh", v0=0.25)
    g = rng.uniform(0.25e-6, 25e-6, (8, 5))
    v = rng.uniform(0.0, 0.3, (3, 8))
    out, nodes = solve_nodal(spec, g, v, return_node_voltages=True)
    driven = (v - nodes.row[:, :, 0]) / spec.r_driver
    np.testing.assert_allclose(out.sum(axis=1), driven.sum(axis=1), rtol=1e-9)


def test_node_voltages_show_ir_drop_along_rows_and_columns(rng):
    spec = CrossbarSpec(6, 6, r_row=50.0, r_col=50.0)
    g = np.full((6, 6), 1e-4)
    _, nodes = solve_nodal(spec, g, np.full((1, 6), 0.2), return_node_voltages=True)
    cell = nodes.cell[0]
    assert cell.shape == (6, 6)
    assert np.all(np.diff(nodes.row[0], axis=1) < 0)  # rows droop away from the drivers
    assert np.all(np.diff(nodes.col[0], axis=0) < 0)  # columns fall toward the virtual grounds
    # only the cell next to both the ideal driver and the ideal sense sees the full 0.2 V
    assert cell[-1, 0] == pytest.approx(0.2, rel=1e-12)
    assert np.delete(cell.ravel(), 5 * 6).max() < 0.2


def test_inputs_are_not_modified(rng):
    spec = CrossbarSpec(3, 3, r_row=1.0, r_col=1.0, device="sinh", v0=0.2)
    g = rng.uniform(1e-6, 1e-5, (3, 3))
    v = rng.uniform(0, 0.2, (2, 3))
    g_copy, v_copy = g.copy(), v.copy()
    solve_nodal(spec, g, v)
    assert np.array_equal(g, g_copy) and np.array_equal(v, v_copy)


def test_wrong_conductance_shape_is_rejected_with_the_expected_shape():
    with pytest.raises(ConfigError, match=r"expected shape \(2, 3, 4\)"):
        solve_nodal(CrossbarSpec(3, 4, differential=True), np.ones((3, 4)) * 1e-6, np.zeros((1, 3)))


def test_wrong_input_width_is_rejected():
    with pytest.raises(ConfigError, match=r"expected shape \(n_vectors, 3\)"):
        solve_nodal(CrossbarSpec(3, 4), np.ones((3, 4)) * 1e-6, np.zeros((1, 4)))
