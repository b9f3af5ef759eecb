"""The iterative exact solver (ladder-preconditioned CG, ``method="iterative"``) against the direct sparse LU.

Tolerance: CG stops at a preconditioned residual of rtol = 1e-10 relative; the resulting current error is
below ~1e-9 of the largest output for the couplings used here (N^2 r G up to ~10), so 1e-8 relative leaves
a decade of margin while a wrong stamp, boundary or sign (errors of 1e-3 and more) fails clearly.
"""

import logging
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from devicelab.errors import ConfigError, SimulationError
from devicelab.spice import CrossbarSpec, simulate_ngspice, solve_nodal
from devicelab.spice.crossbar import ladder_cg
from devicelab.spice.crossbar.ladder_cg import compiled_available, solve_linear_passive
from devicelab.spice.crossbar.nodal import ITERATIVE_FROM_CELLS


def relative_error(reference, other):
    return np.max(np.abs(reference - other)) / np.max(np.abs(reference))


TERMINALS = [(0.0, 0.0), (0.0, 20.0), (35.0, 0.0), (35.0, 20.0)]


@pytest.mark.parametrize("r_driver, r_sense", TERMINALS)
@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (9, 1), (23, 17), (40, 48)])
def test_iterative_matches_direct_for_every_terminal_kind(shape, r_driver, r_sense, rng):
    spec = CrossbarSpec(*shape, r_row=2.5, r_col=4.0, r_driver=r_driver, r_sense=r_sense)
    g = rng.uniform(0.25e-6, 25e-6, spec.g_shape)
    v = rng.uniform(-0.3, 0.3, (5, shape[0]))
    direct = solve_nodal(spec, g, v, method="direct")
    assert relative_error(direct, solve_nodal(spec, g, v, method="iterative")) < 1e-8


def test_iterative_matches_direct_on_differential_pairs_with_strong_coupling(rng):
    # 10 ohm segments and up to 100 uS: N^2 r G ~ 10 per line, the hard end for block relaxations
    spec = CrossbarSpec(32, 24, r_row=10.0, r_col=10.0, r_sense=5.0, differential=True)
    g = rng.uniform(0.0, 100e-6, spec.g_shape)
    v = rng.uniform(0.0, 0.2, (6, 32))
    direct = solve_nodal(spec, g, v, method="direct")
    assert relative_error(direct, solve_nodal(spec, g, v, method="iterative")) < 1e-8


def test_iterative_node_voltages_match_direct(rng):
    spec = CrossbarSpec(12, 10, r_row=3.0, r_col=3.0, r_driver=10.0)
    g = rng.uniform(1e-6, 50e-6, spec.g_shape)
    v = rng.uniform(0.0, 0.3, (3, 12))
    _, ref = solve_nodal(spec, g, v, return_node_voltages=True, method="direct")
    _, got = solve_nodal(spec, g, v, return_node_voltages=True, method="iterative")
    assert got.mid is None
    np.testing.assert_allclose(got.row, ref.row, rtol=0, atol=1e-9 * 0.3)
    np.testing.assert_allclose(got.col, ref.col, rtol=0, atol=1e-9 * 0.3)


def test_iterative_with_zero_conductance_cells_and_zero_inputs(rng):
    spec = CrossbarSpec(8, 6, r_row=2.0, r_col=2.0)
    g = rng.uniform(0.25e-6, 25e-6, spec.g_shape)
    g[:, 2] = 0.0
    v = rng.uniform(0.0, 0.2, (3, 8))
    v[1] = 0.0
    out = solve_nodal(spec, g, v, method="iterative")
    assert np.all(out[:, 2] == 0.0) and np.all(out[1] == 0.0)
    assert relative_error(solve_nodal(spec, g, v, method="direct"), out) < 1e-8


def test_auto_uses_the_iterative_solver_only_where_it_applies(rng):
    side = int(np.ceil(np.sqrt(ITERATIVE_FROM_CELLS)))
    linear = CrossbarSpec(side, side, r_row=2.0, r_col=2.0)
    g = rng.uniform(0.25e-6, 25e-6, linear.g_shape)
    v = rng.uniform(0.0, 0.2, (2, side))
    assert np.array_equal(solve_nodal(linear, g, v), solve_nodal(linear, g, v, method="iterative"))
    sinh = CrossbarSpec(side, side, r_row=2.0, r_col=2.0, device="sinh", v0=0.2)
    assert np.array_equal(solve_nodal(sinh, g, v), solve_nodal(sinh, g, v, method="direct"))


@pytest.mark.parametrize("fields", [dict(r_row=0.0, r_col=2.0), dict(r_row=2.0, r_col=0.0),
                                    dict(r_row=2.0, r_col=2.0, device="sinh", v0=0.2),
                                    dict(r_row=2.0, r_col=2.0, cell="1t1r")])
def test_iterative_refuses_circuits_it_does_not_solve(fields):
    spec = CrossbarSpec(3, 3, **fields)
    with pytest.raises(ConfigError, match="method='iterative' needs linear passive cells"):
        solve_nodal(spec, np.full((3, 3), 1e-5), np.zeros((1, 3)), method="iterative")


def test_unknown_method_is_rejected():
    with pytest.raises(ConfigError, match="expected one of"):
        solve_nodal(CrossbarSpec(2, 2, r_row=1.0, r_col=1.0), np.full((2, 2), 1e-5), np.zeros((1, 2)),
                    method="fast")


def test_iteration_limit_raises_simulation_error(rng):
    spec = CrossbarSpec(30, 30, r_row=10.0, r_col=10.0)
    g = rng.uniform(10e-6, 100e-6, spec.g_shape)
    with pytest.raises(SimulationError, match="did not reach rtol"):
        solve_nodal(spec, g, rng.uniform(0.0, 0.2, (2, 30)), method="iterative", max_iter=1)


@pytest.mark.spice
@pytest.mark.parametrize("fields", [dict(r_row=2.0, r_col=2.0), dict(r_row=2.0, r_col=3.0, r_driver=50.0, r_sense=20.0),
                                    dict(r_row=1.0, r_col=1.0, r_sense=5.0, differential=True)])
def test_iterative_agrees_with_ngspice_on_16x16(fields, rng):
    # tolerance 1e-6: the project's ngspice agreement requirement (netlists run at reltol = 1e-9)
    spec = CrossbarSpec(16, 16, **fields)
    g = rng.uniform(0.25e-6, 25e-6, spec.g_shape)
    v = rng.uniform(-0.3, 0.3, (4, 16))
    assert relative_error(simulate_ngspice(spec, g, v), solve_nodal(spec, g, v, method="iterative")) < 1e-6


def test_threads_give_the_single_thread_answer(rng):
    spec = CrossbarSpec(20, 15, r_row=2.0, r_col=2.0, r_driver=5.0)
    g = rng.uniform(0.25e-6, 25e-6, spec.g_shape)
    v = rng.uniform(0.0, 0.2, (7, 20))
    one, nodes_one = solve_nodal(spec, g, v, True, method="iterative", workers=1)
    three, nodes_three = solve_nodal(spec, g, v, True, method="iterative", workers=3)
    # per-vector CG steps: a vector's answer does not depend on the block it is solved in (up to rounding
    # of the block-wide sums, far below the 1e-10 stopping tolerance)
    np.testing.assert_allclose(three, one, rtol=1e-12, atol=1e-20)
    np.testing.assert_allclose(nodes_three.col, nodes_one.col, rtol=0, atol=1e-13)
    with pytest.raises(ConfigError, match="workers"):
        solve_nodal(spec, g, v, method="iterative", workers=0)


# --- compiled (numba) kernels vs numpy sweeps vs direct -------------------------------------------------

def passive(g, v, spec, **kwargs):
    """solve_linear_passive on a passive spec's physical conductances (currents only)."""
    return solve_linear_passive(g, v, spec.r_row, spec.r_col, spec.r_driver, spec.r_sense, rtol=1e-10,
                                max_iter=500, **kwargs)


needs_numba = pytest.mark.skipif(not compiled_available(), reason="numba not importable")


@needs_numba
@pytest.mark.parametrize("r_driver, r_sense", TERMINALS)
@pytest.mark.parametrize("shape, n_vectors", [((1, 1), 1), ((1, 9), 3), ((11, 1), 2), ((23, 17), 5),
                                              ((40, 70), 1), ((19, 33), 40)])
def test_compiled_and_numpy_backends_agree_with_direct(shape, n_vectors, r_driver, r_sense, rng):
    # column tiles of one to dozens of columns, single rows/columns, every terminal kind; the two backends
    # take different rounding paths to the same 1e-10 preconditioned residual (1e-8: see the module docstring)
    spec = CrossbarSpec(*shape, r_row=2.5, r_col=4.0, r_driver=r_driver, r_sense=r_sense)
    g = rng.uniform(0.25e-6, 25e-6, spec.g_shape)
    v = rng.uniform(-0.3, 0.3, (n_vectors, shape[0]))
    direct = solve_nodal(spec, g, v, method="direct")
    compiled, u_c, w_c = passive(g, v, spec, backend="compiled")
    numpy_, u_n, w_n = passive(g, v, spec, backend="numpy")
    assert relative_error(direct, compiled) < 1e-8
    assert relative_error(direct, numpy_) < 1e-8
    np.testing.assert_allclose(u_c, u_n, rtol=0, atol=1e-9 * 0.3)
    np.testing.assert_allclose(w_c, w_n, rtol=0, atol=1e-9 * 0.3)


@needs_numba
def test_compiled_backend_handles_strong_coupling_and_open_cells(rng):
    # N^2 r G ~ 10 per line (the slow end of the preconditioner) with whole columns and rows of open cells
    spec = CrossbarSpec(48, 40, r_row=10.0, r_col=10.0, r_sense=5.0)
    g = rng.uniform(0.0, 100e-6, spec.g_shape)
    g[:, 7] = 0.0
    g[11] = 0.0
    v = rng.uniform(0.0, 0.2, (9, 48))
    direct = solve_nodal(spec, g, v, method="direct")
    assert relative_error(direct, passive(g, v, spec, backend="compiled")[0]) < 1e-8


@needs_numba
def test_compiled_threads_split_the_ladders_without_changing_the_answer(rng):
    # per-tile partial sums are added in a fixed order, so the thread count cannot change a single bit
    spec = CrossbarSpec(37, 50, r_row=2.0, r_col=3.0, r_driver=5.0)
    g = rng.uniform(0.25e-6, 25e-6, spec.g_shape)
    v = rng.uniform(0.0, 0.2, (6, 37))
    one = passive(g, v, spec, backend="compiled", workers=1)
    three = passive(g, v, spec, backend="compiled", workers=3)
    for a, b in zip(one, three):
        assert np.array_equal(a, b)


@needs_numba
def test_compiled_backend_skips_node_voltages_on_request(rng):
    spec = CrossbarSpec(15, 12, r_row=2.0, r_col=2.0)
    g = rng.uniform(0.25e-6, 25e-6, spec.g_shape)
    v = rng.uniform(0.0, 0.2, (4, 15))
    currents, u, w = passive(g, v, spec, backend="compiled", node_voltages=False)
    assert u is None and w is None
    assert relative_error(solve_nodal(spec, g, v, method="direct"), currents) < 1e-8


@needs_numba
def test_compiled_backend_reports_non_convergence(rng):
    spec = CrossbarSpec(30, 30, r_row=10.0, r_col=10.0)
    g = rng.uniform(10e-6, 100e-6, spec.g_shape)
    with pytest.raises(SimulationError, match="did not reach rtol"):
        solve_linear_passive(g, rng.uniform(0.0, 0.2, (2, 30)), 10.0, 10.0, 0.0, 0.0, rtol=1e-10, max_iter=1,
                             backend="compiled")


def test_without_numba_auto_falls_back_to_numpy_with_a_log_message(monkeypatch, caplog, rng):
    # numba missing: importing the kernel module fails; "auto" must still solve (numpy), "compiled" must refuse
    monkeypatch.setitem(sys.modules, "numba", None)
    monkeypatch.delitem(sys.modules, "devicelab.spice.crossbar.ladder_kernels", raising=False)
    monkeypatch.setattr(ladder_cg, "_KERNELS", {})
    spec = CrossbarSpec(9, 7, r_row=2.0, r_col=2.0)
    g = rng.uniform(0.25e-6, 25e-6, spec.g_shape)
    v = rng.uniform(0.0, 0.2, (3, 9))
    with caplog.at_level(logging.INFO, logger=ladder_cg.__name__):
        currents = passive(g, v, spec, backend="auto")[0]
    assert "numba not available" in caplog.text
    assert not compiled_available()
    assert relative_error(solve_nodal(spec, g, v, method="direct"), currents) < 1e-8
    with pytest.raises(ConfigError, match="needs numba"):
        passive(g, v, spec, backend="compiled")


def test_unknown_backend_and_bad_workers_are_rejected():
    g, v = np.full((2, 2), 1e-5), np.zeros((1, 2))
    with pytest.raises(ConfigError, match="backend"):
        solve_linear_passive(g, v, 1.0, 1.0, 0.0, 0.0, rtol=1e-10, max_iter=10, backend="fortran")
    with pytest.raises(ConfigError, match="workers"):
        solve_linear_passive(g, v, 1.0, 1.0, 0.0, 0.0, rtol=1e-10, max_iter=10, workers=0)


def test_numpy_backend_threads_over_vector_blocks_give_the_single_thread_answer(rng):
    spec = CrossbarSpec(20, 15, r_row=2.0, r_col=2.0, r_sense=5.0)
    g = rng.uniform(0.25e-6, 25e-6, spec.g_shape)
    v = rng.uniform(0.0, 0.2, (7, 20))
    one = passive(g, v, spec, backend="numpy", workers=1)
    three = passive(g, v, spec, backend="numpy", workers=3)
    # per-vector CG steps: a vector's answer does not depend on its block (up to rounding of block-wide sums)
    np.testing.assert_allclose(three[0], one[0], rtol=1e-12, atol=1e-20)
    np.testing.assert_allclose(three[2], one[2], rtol=0, atol=1e-13)


@needs_numba
def test_compiled_kernels_that_fail_or_disagree_are_not_used(caplog):
    # a numba version the kernels do not suit must leave the solver on its numpy sweeps, with a warning
    real = ladder_cg._load_kernels()
    names = ("row_solve", "column_pass", "column_solve", "row_pass")

    def raising(*args):
        raise RuntimeError("lowering failed")

    def doing_nothing(*args):
        return None

    assert ladder_cg._self_check(real)
    for name, replacement in (("row_pass", raising), ("column_solve", doing_nothing)):
        fake = SimpleNamespace(**{n: getattr(real, n) for n in names})
        setattr(fake, name, replacement)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger=ladder_cg.__name__):
            assert not ladder_cg._self_check(fake)
        assert "numpy sweeps are used instead" in caplog.text
