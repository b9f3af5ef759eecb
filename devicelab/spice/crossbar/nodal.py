"""Exact nodal solver of the canonical crossbar (same topology and element equations as the netlists).

Kirchhoff's current law at every free node, with the node voltages imposed by the ideal sources as
boundary values. Two methods (``solve_nodal(..., method=...)``):

- ``"iterative"`` (linear passive cells, nonzero wire segments; chosen by ``"auto"`` from
  :data:`ITERATIVE_FROM_CELLS` cells): conjugate gradients on the row-node Schur complement preconditioned
  by the row ladders, all vectors as one block (:mod:`~devicelab.spice.crossbar.ladder_cg`); O(N P K) work
  per iteration and a few to a dozen iterations, to a stated residual tolerance. Compiled (numba) sweeps
  when numba is importable, numpy sweeps otherwise (same results).
- ``"direct"`` (the reference, and every other circuit): the conductance matrix is LU-factored once
  (``scipy.sparse.linalg.splu``) and all input vectors are solved as one batch. Nonlinear circuits (sinh
  devices, 1T1R access transistors):
Newton iterations from the small-signal solution: the small-signal matrix (factored once) is the chord
Jacobian for the whole batch; vectors whose chord iteration contracts slowly (step ratio > 0.6) continue
with Newton per vector, each Newton step solved by GMRES preconditioned with the same factorization
(exact LU of the Jacobian if GMRES stalls). Steps are limited to 0.5 V; iterations stop when the voltage
update is below ``1e-13 V + 1e-12 max|V|``. The matrix ordering is SuperLU's MMD on A^T + A (the
conductance matrix is symmetric for passive cells).

Element equations (ngspice's, so both agree to ~1e-9): resistor I = G V; sinh device I = (G v0) sinh(V / v0);
access transistor: SPICE level 1 with gamma = 0, forward/reverse mode by the sign of Vds, plus ngspice's
gmin conductance (:data:`~devicelab.spice.crossbar.spec.GMIN`) across each bulk junction (IS = 0).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, gmres, splu

from devicelab.errors import ConfigError, SimulationError
from devicelab.spice.crossbar.ladder_cg import solve_linear_passive
from devicelab.spice.crossbar.spec import (
    GMIN,
    CrossbarSpec,
    check_conductances,
    check_inputs,
    combine_outputs,
    physical_conductances,
    topology,
)
from devicelab.spice.names import check_number

_CHORD_ITERATIONS = 40
_CHORD_SLOW = 0.6
_MAX_NEWTON = 60
_MAX_STEP = 0.5


@dataclass(frozen=True)
class NodeVoltages:
    """Solved node voltages (V), each (n_vectors, rows, physical_cols): ``row`` and ``col`` nodes of every
    cell, ``mid`` (1T1R drain nodes, else None). ``cell`` = row - col is the voltage across each cell."""

    row: np.ndarray
    col: np.ndarray
    mid: np.ndarray | None

    @property
    def cell(self) -> np.ndarray:
        """Voltage across each cell (device plus access transistor), V."""
        return self.row - self.col


class _Circuit:
    """Element arrays and sparse incidence matrices of one crossbar (internal to the solver)."""

    def __init__(self, spec: CrossbarSpec, g_phys: np.ndarray):
        topo = topology(spec)
        self.spec, self.topo = spec, topo
        n = topo.n_nodes
        la, lb, lg = [np.zeros(0, dtype=int)], [np.zeros(0, dtype=int)], [np.zeros(0)]

        def linear(a, b, g):
            a, b = np.broadcast_arrays(np.asarray(a).ravel(), np.asarray(b).ravel())
            la.append(a), lb.append(b), lg.append(np.broadcast_to(np.asarray(g, dtype=float), a.shape).ravel())

        if spec.r_driver > 0:
            linear(topo.driver, topo.row[:, 0], 1.0 / spec.r_driver)
        if spec.r_row > 0:
            linear(topo.row[:, :-1], topo.row[:, 1:], 1.0 / spec.r_row)
        if spec.r_col > 0:
            linear(topo.col[:-1, :], topo.col[1:, :], 1.0 / spec.r_col)
        if spec.r_sense > 0:
            linear(topo.col[-1, :], topo.sense, 1.0 / spec.r_sense)
        bottom = topo.mid if spec.cell == "1t1r" else topo.col
        present = g_phys > 0
        dev_a, dev_b, dev_g = topo.row[present], bottom[present], g_phys[present]
        self.sinh = None
        if spec.device == "linear":
            linear(dev_a, dev_b, dev_g)
        else:
            self.sinh = (dev_g * spec.v0, spec.v0)
            self.b_sinh = _incidence(dev_a, dev_b, n)
        self.mos = None
        if spec.cell == "1t1r":
            d, s = topo.mid.ravel(), topo.col.ravel()
            linear(d, 0, GMIN)  # ngspice's gmin across the bulk-drain and bulk-source junctions (IS = 0)
            linear(s, 0, GMIN)
            self.mos = (d, s)
            self.b_mos = _incidence(d, s, n)
        a, b, g = np.concatenate(la), np.concatenate(lb), np.concatenate(lg)
        inc = _incidence(a, b, n)
        self.laplacian = (inc @ sp.diags(g) @ inc.T).tocsr()
        self.free = np.flatnonzero(~topo.fixed)
        self.select = sp.csr_matrix((np.ones(self.free.size), (np.arange(self.free.size), self.free)),
                                    shape=(self.free.size, n))

    def boundary(self, v: np.ndarray) -> np.ndarray:
        """(n_nodes, K) voltages with the fixed nodes set (drivers to v, gate to v_gate) and free ones 0."""
        x = np.zeros((self.topo.n_nodes, v.shape[0]))
        x[self.topo.driver] = v.T
        if self.spec.cell == "1t1r":
            x[self.topo.gate] = self.spec.transistor.v_gate
        return x

    def leaving(self, x: np.ndarray) -> np.ndarray:
        """Net current (A) leaving every node into the elements, (n_nodes, K)."""
        out = self.laplacian @ x
        if self.sinh is not None:
            gv0, v0 = self.sinh
            out += self.b_sinh @ (gv0[:, None] * np.sinh((self.b_sinh.T @ x) / v0))
        if self.mos is not None:
            ids, _, _ = self._mos(x)
            out += self.b_mos @ ids
        return out

    def _mos(self, x: np.ndarray):
        """Drain-to-source current (A) and its derivatives wrt V(drain), V(source) (S), each (n_mos, K)."""
        t = self.spec.transistor
        vd, vs = x[self.mos[0]], x[self.mos[1]]
        forward = vd >= vs
        vds = np.abs(vd - vs)
        vgst = t.v_gate - np.where(forward, vs, vd) - t.vt0
        beta = t.beta
        betap = beta * (1 + t.lambda_ * vds)
        on = vgst > 0
        sat = vgst <= vds
        ids = np.where(sat, 0.5 * betap * vgst**2, betap * vds * (vgst - 0.5 * vds))
        gm = np.where(sat, betap * vgst, betap * vds)
        gds = np.where(sat, 0.5 * t.lambda_ * beta * vgst**2,
                       betap * (vgst - vds) + t.lambda_ * beta * vds * (vgst - 0.5 * vds))
        ids, gm, gds = (np.where(on, q, 0.0) for q in (ids, gm, gds))
        current = np.where(forward, ids, -ids)
        d_vd = np.where(forward, gds, gm + gds)
        d_vs = np.where(forward, -gm - gds, -gds)
        return current, d_vd, d_vs

    def jacobian(self, x: np.ndarray) -> sp.csc_matrix:
        """Free-node Jacobian (S) of the net leaving currents at the single voltage vector ``x`` (n_nodes,)."""
        jac = self.laplacian
        if self.sinh is not None:
            gv0, v0 = self.sinh
            jac = jac + self.b_sinh @ sp.diags(gv0 / v0 * np.cosh((self.b_sinh.T @ x) / v0)) @ self.b_sinh.T
        if self.mos is not None:
            _, d_vd, d_vs = self._mos(x[:, None])
            n, m = self.topo.n_nodes, d_vd.shape[0]
            rows = np.arange(m)
            dv = sp.csr_matrix((np.concatenate([d_vd[:, 0], d_vs[:, 0]]),
                                (np.concatenate([rows, rows]), np.concatenate(self.mos))), shape=(m, n))
            jac = jac + self.b_mos @ dv
        return (self.select @ jac @ self.select.T).tocsc()

    def small_signal(self) -> sp.csc_matrix:
        """Free-node Jacobian at zero applied voltage (word line on): the chord matrix (S)."""
        return self.jacobian(self.boundary(np.zeros((1, self.spec.rows)))[:, 0])


def _incidence(a: np.ndarray, b: np.ndarray, n_nodes: int) -> sp.csr_matrix:
    """(n_nodes, n_elements) incidence: +1 at the node a current leaves from, -1 where it enters."""
    m = a.size
    cols = np.arange(m)
    return sp.csr_matrix((np.concatenate([np.ones(m), -np.ones(m)]), (np.concatenate([a, b]),
                                                                         np.concatenate([cols, cols]))),
                         shape=(n_nodes, m))


METHODS = ("auto", "direct", "iterative")
#: Largest default number of threads of the iterative solver (sharing the ladders; numpy: vector blocks).
MAX_WORKERS = 4
#: Cells x vectors from which the iterative solver uses threads by default (below: one thread).
THREADS_FROM_ELEMENTS = 1 << 20
#: Cells (rows x physical columns) from which ``method="auto"`` picks the iterative solver when it applies.
ITERATIVE_FROM_CELLS = 32 * 32


def solve_nodal(spec: CrossbarSpec, g, v, return_node_voltages: bool = False, *, method: str = "auto",
                rtol: float = 1e-10, max_iter: int = 500, workers: int | None = None):
    """Output currents (A), shape (n_vectors, cols), of ``spec`` with conductances ``g`` (S) and inputs ``v`` (V).

    Parameters
    ----------
    spec : CrossbarSpec
        The circuit.
    g : array_like
        Conductances (S), (rows, cols), or (2, rows, cols) for differential arrays (output I+ - I-).
    v : array_like
        Input voltages (V), (n_vectors, rows).
    return_node_voltages : bool
        Also return the solved :class:`NodeVoltages`.
    method : {"auto", "direct", "iterative"}
        ``"direct"``: sparse LU of the whole nodal matrix (Newton for nonlinear cells), the reference.
        ``"iterative"``: conjugate gradients on the row-node Schur complement preconditioned by the row
        ladders (:mod:`~devicelab.spice.crossbar.ladder_cg`); only for linear passive cells with
        ``r_row`` and ``r_col`` > 0 (ConfigError otherwise). ``"auto"``: iterative where it applies and
        the array has at least :data:`ITERATIVE_FROM_CELLS` cells, else direct.
    rtol : float
        Iterative solver: stop when every vector's preconditioned residual norm is below ``rtol`` times its
        initial value (1e-10 keeps the currents within ~1e-9 relative of the direct solution).
    max_iter : int
        Iterative solver: iteration limit (SimulationError beyond it).
    workers : int or None
        Iterative solver: threads (None: the number of CPUs, at most :data:`MAX_WORKERS`, from
        :data:`THREADS_FROM_ELEMENTS` cells x vectors on; 1: no threads). With numba (the compiled kernels)
        the threads share the row and column ladders; without it (numpy sweeps) each solves one block of the
        input vectors. The answer does not depend on the number of threads (numpy: up to rounding).
        The direct solver is single-threaded.

    Returns
    -------
    numpy.ndarray or (numpy.ndarray, NodeVoltages)
        Currents (A) into the virtual grounds, combined per logical column; with
        ``return_node_voltages=True`` also the node voltages.

    Raises
    ------
    SimulationError
        If Newton (nonlinear cells) or CG (iterative method) does not converge.
    """
    g_phys = physical_conductances(spec, check_conductances(spec, g))
    v = check_inputs(spec, v)
    if _pick_method(spec, method) == "iterative":
        check_number(rtol, "solve_nodal rtol", positive=True)
        currents, u, w = _iterative(spec, g_phys, v, rtol, int(max_iter), return_node_voltages, workers)
        out = combine_outputs(spec, currents)
        if not return_node_voltages:
            return out
        return out, NodeVoltages(u.transpose(2, 0, 1), w.transpose(2, 0, 1), None)
    circuit = _Circuit(spec, g_phys)
    x = circuit.boundary(v)
    free = circuit.free
    if free.size:
        jac0 = _factor(circuit.small_signal())
        x[free] = _solve(jac0, -(circuit.select @ (circuit.laplacian @ x)))
        if circuit.sinh is not None or circuit.mos is not None:
            _newton(circuit, x, jac0)
    currents = -circuit.leaving(x)[circuit.topo.sense].T
    out = combine_outputs(spec, currents)
    if not return_node_voltages:
        return out
    topo = circuit.topo
    volts = x.T
    mid = volts[:, topo.mid] if topo.mid is not None else None
    return out, NodeVoltages(volts[:, topo.row], volts[:, topo.col], mid)


def _iterative(spec, g_phys, v, rtol, max_iter, node_voltages, workers):
    """:func:`solve_linear_passive` with the default number of threads resolved (see :func:`solve_nodal`)."""
    if workers is None:  # threads only pay off on large arrays (their start-up is ~1 ms)
        big = g_phys.size * v.shape[0] >= THREADS_FROM_ELEMENTS
        workers = min(os.cpu_count() or 1, MAX_WORKERS) if big else 1
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ConfigError(f"solve_nodal workers: expected an integer >= 1 or None, got {workers!r}")
    return solve_linear_passive(g_phys, v, spec.r_row, spec.r_col, spec.r_driver, spec.r_sense, rtol=rtol,
                                max_iter=max_iter, node_voltages=node_voltages, workers=int(workers))


def iterative_applies(spec: CrossbarSpec) -> bool:
    """True if the iterative (ladder-preconditioned CG) solver handles ``spec``: linear passive cells and
    nonzero row and column wire segments (merged wires and nonlinear cells use the direct solver)."""
    return spec.device == "linear" and spec.cell == "passive" and spec.r_row > 0 and spec.r_col > 0


def _pick_method(spec: CrossbarSpec, method: str) -> str:
    """The solver ``method`` resolves to for ``spec`` ("direct" or "iterative")."""
    if method not in METHODS:
        raise ConfigError(f"solve_nodal method: expected one of {METHODS}, got {method!r}")
    if method == "iterative" and not iterative_applies(spec):
        raise ConfigError("solve_nodal method='iterative' needs linear passive cells and r_row, r_col > 0 ohm "
                          f"(got device={spec.device!r}, cell={spec.cell!r}, r_row={spec.r_row}, "
                          f"r_col={spec.r_col}); use method='direct' or 'auto'")
    if method == "auto":
        big = spec.rows * spec.physical_cols >= ITERATIVE_FROM_CELLS
        return "iterative" if big and iterative_applies(spec) else "direct"
    return method


def _factor(matrix: sp.csc_matrix):
    """Sparse LU with the fill-reducing ordering that suits the (nearly) symmetric nodal matrices."""
    return splu(matrix, permc_spec="MMD_AT_PLUS_A")


def _solve(lu, rhs: np.ndarray) -> np.ndarray:
    """lu^-1 rhs for one vector or a batch of columns (column by column: SuperLU's multi-RHS path is slower)."""
    if rhs.ndim == 1:
        return lu.solve(rhs)
    out = np.empty_like(rhs)
    for k in range(rhs.shape[1]):
        out[:, k] = lu.solve(np.ascontiguousarray(rhs[:, k]))
    return out


def _converged(step: np.ndarray, x_free: np.ndarray) -> np.ndarray:
    """Per-vector convergence of a Newton update (V): |dV| <= 1e-13 V + 1e-12 max|V|."""
    scale = np.max(np.abs(x_free), axis=0) if x_free.size else 0.0
    return np.max(np.abs(step), axis=0) <= 1e-13 + 1e-12 * scale


def _limited(step: np.ndarray) -> np.ndarray:
    """Step scaled down so that no node moves by more than _MAX_STEP volts per iteration."""
    largest = np.max(np.abs(step), axis=0)
    return step * np.minimum(1.0, _MAX_STEP / np.maximum(largest, 1e-300))


def _newton(circuit: _Circuit, x: np.ndarray, jac0) -> None:
    """Solve the nonlinear KCL in place on ``x`` (n_nodes, K): batched chord steps, then per-vector Newton."""
    free, select = circuit.free, circuit.select
    pending = np.ones(x.shape[1], dtype=bool)
    slow = np.zeros(x.shape[1], dtype=bool)
    previous = np.full(x.shape[1], np.inf)
    for iteration in range(_CHORD_ITERATIONS):
        cols = np.flatnonzero(pending & ~slow)
        if cols.size == 0:
            break
        step = _limited(_solve(jac0, -(select @ circuit.leaving(x[:, cols]))))
        x[np.ix_(free, cols)] += step
        size = np.max(np.abs(step), axis=0)
        pending[cols] = ~_converged(step, x[np.ix_(free, cols)])
        slow[cols] = (iteration >= 2) & (size > _CHORD_SLOW * previous[cols])
        previous[cols] = size
    preconditioner = LinearOperator((free.size, free.size), matvec=jac0.solve, dtype=np.float64)
    for k in np.flatnonzero(pending):
        xk = x[:, k].copy()
        for _ in range(_MAX_NEWTON):
            residual = select @ circuit.leaving(xk[:, None])[:, 0]
            jac = circuit.jacobian(xk)
            step, info = gmres(jac, -residual, rtol=1e-11, atol=0.0, restart=60, maxiter=5, M=preconditioner)
            if info != 0:
                step = _factor(jac).solve(-residual)
            step = _limited(step[:, None])[:, 0]
            xk[free] += step
            if _converged(step[:, None], xk[free][:, None])[0]:
                break
        else:
            raise SimulationError(f"nodal Newton iteration did not converge for input vector {k} "
                                  f"within {_MAX_NEWTON} iterations (last |dV| = {np.max(np.abs(step)):.3g} V)")
        x[:, k] = xk
