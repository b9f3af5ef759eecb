"""Line (ladder) physics of the canonical crossbar, vectorized over all rows or columns at once.

The crossbar splits into two families of one-dimensional resistive ladders coupled through the cells:

- row i: nodes j = 0..P-1, wire conductance 1/r_row between neighbours, the driver 1/r_driver to the
  source V_i at j = 0, and at every node a cell conductance G_ij to the column node (i, j);
- column j: nodes i = 0..N-1, wire conductance 1/r_col, the sense 1/r_sense to virtual ground at i = N-1,
  and at every node the cell G_ij to the row node (i, j).

Each family is a set of independent symmetric tridiagonal systems (one per line); :class:`LadderFamily`
factors them once per conductance matrix and solves many right-hand sides with a vectorized Thomas
sweep (O(N P) work per right-hand side, no sparse matrices). :func:`relax_lines` is block Gauss-Seidel
on the two families (solve all rows with the column voltages fixed, then all columns with the row
voltages fixed), with over-relaxation estimated from the observed contraction; it is used only for a
handful of smooth probe vectors per conductance matrix (see :mod:`devicelab.behavioral.crossbar_model`).

Units: conductances in S, resistances in ohm, voltages in V, currents in A.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Conductance (S) standing in for a zero driver/sense resistance (an ideal connection). It only pins a
#: diagonal entry of the ladder systems, so it costs no conditioning.
G_IDEAL_CONTACT = 1e9
#: Smallest wire segment resistance (ohm) used in the ladder systems: r = 0 (merged nodes) is replaced by
#: this, which changes currents by about G r N^2 < 1e-5 relative for G <= 1e-3 S and N <= 4096.
R_WIRE_FLOOR = 1e-6


def contact_conductance(r: float) -> float:
    """Conductance (S) of a driver or sense resistance ``r`` (ohm); 0 ohm is an ideal contact."""
    return G_IDEAL_CONTACT if r <= 0 else 1.0 / r


def wire_conductance(r: float) -> float:
    """Conductance (S) of one wire segment of ``r`` ohm (floored at :data:`R_WIRE_FLOOR`)."""
    return 1.0 / max(r, R_WIRE_FLOOR)


class LadderFamily:
    """Independent symmetric tridiagonal ladders, all of length ``n``, factored once.

    ``diag`` (lines, n) is the diagonal in S (wire, contact and cell conductances at each node); every
    off-diagonal entry is ``-g_wire``. :meth:`solve` takes right-hand sides (n, lines, k) in A (node
    position first, so each Thomas step works on one contiguous (lines, k) slab) and returns node
    voltages (n, lines, k) in V.
    """

    def __init__(self, diag: np.ndarray, g_wire: float):
        diag = np.asarray(diag, dtype=np.float64)
        lines, n = diag.shape
        self.n = n
        self.g_wire = float(g_wire)
        inv = np.empty((n, lines))
        upper = np.empty((n, lines))
        inv[0] = 1.0 / diag[:, 0]
        upper[0] = -self.g_wire * inv[0]
        for j in range(1, n):
            inv[j] = 1.0 / (diag[:, j] + self.g_wire * upper[j - 1])
            upper[j] = -self.g_wire * inv[j]
        self._inv = inv[:, :, None]
        self._upper = upper[:, :, None]

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """Node voltages (n, lines, k) in V for injected currents ``rhs`` (n, lines, k) in A."""
        inv, upper, g = self._inv, self._upper, self.g_wire
        x = np.empty(np.broadcast_shapes(rhs.shape, inv.shape))
        x[0] = rhs[0] * inv[0]
        for j in range(1, self.n):
            x[j] = (rhs[j] + g * x[j - 1]) * inv[j]
        for j in range(self.n - 2, -1, -1):
            x[j] -= upper[j] * x[j + 1]
        return x


@dataclass(frozen=True)
class LineCircuit:
    """Wire, driver and sense resistances (ohm) of a crossbar as the ladder solvers need them."""

    r_row: float
    r_col: float
    r_driver: float
    r_sense: float


class CrossbarLadders:
    """Both ladder families of one physical conductance matrix ``g`` (rows, physical columns) in S.

    Attributes ``rows`` (row ladders: position = column index) and ``cols`` (column ladders: position =
    row index); ``g_driver``, ``g_sense`` contact conductances (S).
    """

    def __init__(self, g: np.ndarray, circuit: LineCircuit):
        n, p = g.shape
        self.g = g
        self.shape = (n, p)
        self.g_driver = contact_conductance(circuit.r_driver)
        self.g_sense = contact_conductance(circuit.r_sense)
        g_row, g_col = wire_conductance(circuit.r_row), wire_conductance(circuit.r_col)
        row_diag = _wire_degree(p, g_row)[None, :] + g
        row_diag[:, 0] += self.g_driver
        col_diag = _wire_degree(n, g_col)[None, :] + g.T
        col_diag[:, -1] += self.g_sense
        self.rows = LadderFamily(row_diag, g_row)
        self.cols = LadderFamily(col_diag, g_col)

    def attenuations(self) -> tuple[np.ndarray, np.ndarray]:
        """(alpha, beta), both (rows, physical columns), dimensionless.

        alpha_ij: row-node voltage per volt of V_i with every column node held at 0 V;
        beta_ij: fraction of a current injected into column node (i, j) that reaches the sense of column j
        with every row node held at 0 V (by reciprocity, the column-node voltage when the sense end is
        driven with 1 V through r_sense).
        """
        n, p = self.shape
        e_row = np.zeros((p, n, 1))
        e_row[0] = self.g_driver
        alpha = self.rows.solve(e_row)[:, :, 0].T
        e_col = np.zeros((n, p, 1))
        e_col[-1] = self.g_sense
        beta = self.cols.solve(e_col)[:, :, 0]
        return alpha, beta


def _wire_degree(n: int, g_wire: float) -> np.ndarray:
    """Wire part of a ladder's diagonal (S): 2 g inside, g at both ends (0 for a single node)."""
    deg = np.full(n, 2.0 * g_wire)
    deg[0] -= g_wire
    deg[-1] -= g_wire
    return deg


@dataclass(frozen=True)
class RelaxationResult:
    """Outcome of :func:`relax_lines`: row-node voltages ``u`` (rows, physical columns, k) V, column-node
    voltages ``w`` (same) V, ``iterations`` done, ``converged`` flag and final relative ``change``."""

    u: np.ndarray
    w: np.ndarray
    iterations: int
    converged: bool
    change: float


def relax_lines(ladders: CrossbarLadders, v_drive: np.ndarray, z_sense: np.ndarray, *, tol: float,
                max_iter: int) -> RelaxationResult:
    """Block Gauss-Seidel (row family, then column family) for k right-hand sides at once.

    ``v_drive`` (rows, k) V are source voltages at the row drivers; ``z_sense`` (physical columns, k) V are
    source voltages at the column senses (the adjoint problem; 0 for the forward one). Converged when, for
    every right-hand side, the largest change of the column-node voltages between sweeps relative to
    their largest value is below ``tol``. After three plain sweeps the over-relaxation factor is set from the observed
    contraction rate q as omega = 2 / (1 + sqrt(1 - q)) (capped at 1.6), which keeps the 512 x 512,
    5 ohm/segment case convergent in a few dozen sweeps.
    """
    n, p = ladders.shape
    k = v_drive.shape[1]
    g = ladders.g
    b_row = np.zeros((p, n, k))
    b_row[0] = ladders.g_driver * v_drive
    b_col = np.zeros((n, p, k))
    b_col[-1] = ladders.g_sense * z_sense
    w = np.zeros((n, p, k))
    u = np.zeros((n, p, k))
    g_t = g.T[:, :, None]
    g_n = g[:, :, None]
    omega, change, last_delta = 1.0, np.inf, None
    for it in range(1, max_iter + 1):
        u = ladders.rows.solve(b_row + g_t * w.transpose(1, 0, 2)).transpose(1, 0, 2)
        w_new = ladders.cols.solve(b_col + g_n * u)
        if omega != 1.0:
            w_new = w + omega * (w_new - w)
        step = np.max(np.abs(w_new - w), axis=(0, 1))
        w = w_new
        delta = float(np.max(step))
        change = float(np.max(step / np.maximum(np.max(np.abs(w), axis=(0, 1)), 1e-300)))
        if it > 1 and change < tol:
            return RelaxationResult(u, w, it, True, change)
        if it == 3 and last_delta:
            q = min(delta / last_delta, 0.99)
            omega = min(2.0 / (1.0 + np.sqrt(1.0 - q)), 1.6)
        last_delta = delta
    return RelaxationResult(u, w, max_iter, False, change)
