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


#: Contraction rate per sweep above which the relaxation switches to over-relaxation (slow cases).
SOR_THRESHOLD = 0.3


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
        self._lower = -upper[:, :, None]  # g_wire * inv: weight of the previous node in the forward sweep

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """Node voltages (n, lines, k) in V for injected currents ``rhs`` (n, lines, k) in A.

        Forward sweep x_j = rhs_j inv_j + (g inv_j) x_{j-1}, back substitution x_j -= upper_j x_{j+1};
        written with ``out=`` so each step costs two small ufunc calls and no allocation.
        """
        x = rhs * self._inv
        lower, upper = self._lower, self._upper
        tmp = np.empty_like(x[0])
        for j in range(1, self.n):
            np.multiply(lower[j], x[j - 1], out=tmp)
            x[j] += tmp
        for j in range(self.n - 2, -1, -1):
            np.multiply(upper[j], x[j + 1], out=tmp)
            x[j] -= tmp
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
    voltages ``w`` (same) V of the last sweep; ``first_u``, ``first_w`` those of the first sweep (the
    uncoupled line responses: rows with column nodes at 0 V, columns with row nodes at 0 V); terminal currents
    ``drive`` (rows, k) A flowing from each
    driver into its row and ``sense`` (physical columns, k) A flowing from each column into its sense,
    geometrically extrapolated from the last three sweeps; ``iterations`` done, ``converged`` flag and
    final relative ``change``."""

    u: np.ndarray
    w: np.ndarray
    first_u: np.ndarray
    first_w: np.ndarray
    drive: np.ndarray
    sense: np.ndarray
    iterations: int
    converged: bool
    change: float


def relax_lines(ladders: CrossbarLadders, v_drive: np.ndarray, z_sense: np.ndarray, *, tol: float,
                max_iter: int) -> RelaxationResult:
    """Block Gauss-Seidel (row family, then column family) for k right-hand sides at once.

    ``v_drive`` (rows, k) V are source voltages at the row drivers; ``z_sense`` (physical columns, k) V are
    source voltages at the column senses (the adjoint problem; 0 for the forward one). The terminal
    currents (every driver and sense) are tracked per right-hand side; with ``change`` their largest
    sweep-to-sweep change relative to their largest value and q the observed contraction rate, the
    remaining error of a geometric sequence is change q / (1 - q), and the relaxation stops when it is
    below ``tol``. If q > :data:`SOR_THRESHOLD` after three plain sweeps, over-relaxation starts with
    omega = 2 / (1 + sqrt(1 - q)) (capped at 1.6), which keeps the 512 x 512, 5 ohm/segment case convergent
    in a few dozen sweeps; otherwise the returned terminal currents are extrapolated to the limit of the
    geometric sequence (:func:`_extrapolate`), which turns 3-4 sweeps at 256 x 256 / 2 ohm into 0.35 % /
    0.04 % model error instead of 0.9 % / 0.15 %.
    """
    n, p = ladders.shape
    k = v_drive.shape[1]
    g = ladders.g
    drive_row = ladders.g_driver * v_drive          # (n, k) currents injected at row position 0
    sense_col = ladders.g_sense * z_sense           # (p, k) currents injected at column position n-1
    w = np.zeros((n, p, k))
    u = np.zeros((n, p, k))
    g_t = g.T[:, :, None]
    g_n = g[:, :, None]
    omega, change, last_delta, previous, before, oldest = 1.0, np.inf, None, None, None, None
    it, converged = 0, False
    for it in range(1, max_iter + 1):
        rhs = g_t * w.transpose(1, 0, 2)
        rhs[0] += drive_row
        u = ladders.rows.solve(rhs).transpose(1, 0, 2)
        rhs = g_n * u
        rhs[-1] += sense_col
        w_new = ladders.cols.solve(rhs)
        w = w_new if omega == 1.0 else w + omega * (w_new - w)
        if it == 1:
            first_u, first_w = u, w
        # terminal currents (driver and sense of every line) per right-hand side: what the caller reads
        terminals = np.concatenate([ladders.g_driver * (v_drive - u[:, 0]), ladders.g_sense * (w[-1] - z_sense)])
        oldest, before, previous, current = before, previous, terminals, terminals
        if before is None:
            continue
        step = np.max(np.abs(current - before), axis=0)
        delta = float(np.max(step))
        change = float(np.max(step / np.maximum(np.max(np.abs(current), axis=0), 1e-300)))
        if last_delta:
            q = min(delta / last_delta, 0.99)
            # remaining error of a geometric sequence: change q / (1 - q); no stop before the rate is known
            if change * q / (1.0 - q) < tol:
                converged = True
                break
            if it == 3 and q > SOR_THRESHOLD:
                omega = min(2.0 / (1.0 + np.sqrt(1.0 - q)), 1.6)
        last_delta = delta
    terminals = previous if oldest is None or omega != 1.0 else _extrapolate(oldest, before, previous)
    return RelaxationResult(u, w, first_u, first_w, terminals[:n], terminals[n:], it, converged, change)


def _extrapolate(t0: np.ndarray, t1: np.ndarray, t2: np.ndarray) -> np.ndarray:
    """Limit of a geometrically converging sequence t0, t1, t2 (columns = right-hand sides):
    t2 + (t2 - t1) q / (1 - q) with the contraction q = |t2 - t1| / |t1 - t0| of each column (no
    extrapolation where q >= 0.9, i.e. where the sequence is not clearly contracting)."""
    d1 = np.linalg.norm(t1 - t0, axis=0)
    d2 = np.linalg.norm(t2 - t1, axis=0)
    q = np.divide(d2, d1, out=np.ones_like(d2), where=d1 > 0)
    gain = np.where(q < 0.9, q / (1.0 - np.minimum(q, 0.9)), 0.0)
    return t2 + (t2 - t1) * gain
