"""Iterative exact solver of linear passive crossbars: conjugate gradients on the row-node Schur complement.

The free-node conductance matrix of a passive crossbar with linear cells and nonzero wire segments splits
into the row-node block ``A_u`` (one symmetric tridiagonal ladder per row: wire segments, driver, the cells'
conductances on the diagonal), the column-node block ``A_w`` (one tridiagonal ladder per physical column)
and the cell coupling ``-C`` (diagonal, ``C = G``)::

    A_u u - C w = b_u,        A_w w - C u = b_w.

Eliminating the column nodes exactly (``w = A_w^-1 (b_w + C u)``, one vectorized Thomas sweep over all
columns) leaves the symmetric positive definite Schur complement ``S = A_u - C A_w^-1 C`` on the row nodes.
:func:`solve_linear_passive` runs conjugate gradients on ``S u = b_u + C A_w^-1 b_w`` for all input vectors
as one block, preconditioned by the row ladders ``A_u^-1`` (one Thomas sweep over all rows). The
preconditioned spectrum lies in ``[1 - rho^2, 1]`` with ``rho`` the spectral radius of the row/column
coupling, so each iteration costs two ladder sweeps (O(N P K) work) and the iteration count grows with the
wire-to-cell coupling (N^2 r G), not with the matrix size itself.

Fixed nodes (an ideal driver at row position 0, an ideal virtual ground at column position N-1) stay in the
arrays as identity equations with their couplings moved to the right-hand side, so every ladder keeps the
same length and the sweeps stay vectorized.

Stopping rule: every vector stops when the preconditioned residual norm ``sqrt(r^T A_u^-1 r)`` has fallen
below ``rtol`` times its initial value (the energy norm of the error of the Schur system shrinks with it);
the output currents are then evaluated from the solved node voltages.

Units: conductances in S, voltages in V, currents in A.
"""

from __future__ import annotations

import numpy as np

from devicelab.errors import SimulationError


class Ladders:
    """Independent symmetric tridiagonal systems along ``axis`` (0 or 1) of (N, P, K) arrays, factored once.

    ``diag`` (N, P) S is the diagonal; ``couple`` (n - 1,) S the conductance joining positions j and j+1
    along the axis (the off-diagonal is ``-couple``), the same for every line. The sweeps run over the
    positions with one (lines, K) slab per step, so both families work in place on the same layout.
    """

    def __init__(self, diag: np.ndarray, couple: np.ndarray, axis: int):
        self.axis = axis
        d = np.asarray(diag, dtype=np.float64)
        d = d if axis == 0 else d.T
        n = d.shape[0]
        couple = np.asarray(couple, dtype=np.float64)
        pivot = np.empty_like(d)
        pivot[0] = d[0]
        for j in range(1, n):
            pivot[j] = d[j] - couple[j - 1] ** 2 / pivot[j - 1]
        self.n = n
        self.diag, self.couple, self.pivot = d, couple, pivot
        self._inv = (1.0 / pivot)[..., None]
        # e_j / m_j: weight of y_j in the forward sweep at j+1 and of x_{j+1} in the back substitution at j
        self._weight = (couple[:, None] / pivot[:-1])[..., None]

    def transposed(self) -> Ladders:
        """The same ladders acting along axis 0 of arrays laid out with the first two axes swapped."""
        other = object.__new__(Ladders)
        other.__dict__.update(self.__dict__)
        other.axis = 1 - self.axis
        return other

    def view(self, x: np.ndarray) -> np.ndarray:
        """``x`` (N, P, K) seen as (positions, lines, K) along this family's axis (no copy)."""
        return x if self.axis == 0 else x.transpose(1, 0, 2)

    def solve(self, b: np.ndarray, out: np.ndarray, scale: np.ndarray | None = None, first: int = 0) -> np.ndarray:
        """out = A^-1 (scale * b) for (N, P, K) arrays (A -> V); ``scale`` (N, P, 1) or None; ``out`` may be ``b``.

        With ``first`` > 0 the back substitution stops there: only positions >= ``first`` are solved.

        Thomas sweeps (forward elimination, then back substitution with the pivot scaling folded in), each
        step on one cache-sized slab, so the whole solve reads ``b`` once and ``out`` twice.
        """
        y, bv = self.view(out), self.view(b)
        sv = None if scale is None else self.view(scale)
        tmp = np.empty_like(y[0])
        for j in range(self.n):
            if sv is not None:
                np.multiply(sv[j], bv[j], out=y[j])
            elif y is not bv:
                y[j] = bv[j]
            if j:
                np.multiply(self._weight[j - 1], y[j - 1], out=tmp)
                y[j] += tmp
        y[-1] *= self._inv[-1]
        for j in range(self.n - 2, first - 1, -1):
            y[j] *= self._inv[j]
            np.multiply(self._weight[j], y[j + 1], out=tmp)
            y[j] += tmp
        return out

    def apply(self, x: np.ndarray) -> np.ndarray:
        """A x (A) for ``x`` (N, P, K) V, a new array."""
        out = np.empty_like(x)
        y, xv = self.view(out), self.view(x)
        np.multiply(self.diag[..., None], xv, out=y)
        if self.n > 1:
            c = self.couple[:, None, None]
            y[:-1] -= c * xv[1:]
            y[1:] -= c * xv[:-1]
        return out


def solve_linear_passive(g: np.ndarray, v: np.ndarray, r_row: float, r_col: float, r_driver: float,
                         r_sense: float, *, rtol: float, max_iter: int, node_voltages: bool = True):
    """Sense currents and node voltages of a linear passive crossbar (``r_row``, ``r_col`` > 0 ohm).

    Parameters
    ----------
    g : numpy.ndarray
        (N, P) physical cell conductances (S).
    v : numpy.ndarray
        (K, N) input voltages (V).
    r_row, r_col : float
        Wire segment resistances (ohm, > 0).
    r_driver, r_sense : float
        Driver and sense resistances (ohm, >= 0; 0 = ideal source / virtual ground).
    rtol : float
        Relative tolerance on each vector's preconditioned residual norm.
    max_iter : int
        Iteration limit.
    node_voltages : bool
        Also return the node voltages (else None for both, which saves most of the last column sweep).

    Returns
    -------
    tuple
        Currents (K, P) A into the virtual grounds; row-node voltages u (N, P, K) V; column-node voltages
        w (N, P, K) V.

    Raises
    ------
    SimulationError
        If CG has not converged within ``max_iter`` iterations.
    """
    n, p = g.shape
    k = v.shape[0]
    g_row, g_col = 1.0 / r_row, 1.0 / r_col
    drive_fixed, sense_fixed = r_driver <= 0, r_sense <= 0
    couple = g.copy()                                   # cell conductances coupling free row and column nodes
    row_couple, col_couple = np.full(p - 1, g_row), np.full(n - 1, g_col)
    row_diag = g + _wire_degree(p, g_row)[None, :]
    col_diag = g + _wire_degree(n, g_col)[:, None]
    vt = v.T                                            # (N, K)
    # Row-node arrays are laid out (P, N, K), column-node arrays (N, P, K): each ladder family then sweeps
    # contiguous slabs. Only one slab of each right-hand side is nonzero (next to the drivers).
    rhs = np.zeros((p, n, k))
    into_col0 = None                                    # current into column 0 from fixed row nodes (N, K)
    if drive_fixed:
        # u[:, 0] = v as identity equations; their couplings move to the neighbours' right-hand sides.
        # Column 0's nodes then only see fixed row nodes: they decouple from the CG unknowns.
        row_diag[:, 0] = 1.0
        couple[:, 0] = 0.0
        if p > 1:
            row_couple[0] = 0.0
            rhs[1] = g_row * vt
        into_col0 = g[:, 0, None] * vt
    else:
        row_diag[:, 0] += 1.0 / r_driver
        rhs[0] = vt / r_driver
    if sense_fixed:
        # w[-1] = 0 (virtual ground): identity equations, nothing to move (the fixed value is 0 V)
        col_diag[-1] = 1.0
        couple[-1] = 0.0
        if into_col0 is not None:
            into_col0[-1] = 0.0
        if n > 1:
            col_couple[-1] = 0.0
    else:
        col_diag[-1] += 1.0 / r_sense
    system = _SchurSystem(Ladders(row_diag, row_couple, axis=1), Ladders(col_diag, col_couple, axis=0), couple)
    u_rows = _schur_cg(system, rhs, rtol, max_iter)                          # (P, N, K)
    w = np.multiply(u_rows.transpose(1, 0, 2), system.couple_w, out=np.empty((n, p, k)))
    if into_col0 is not None:
        w[:, 0] += into_col0
    # the sense currents need the column voltages next to the sense only: skip the rest of the back sweep
    system.cols.solve(w, w, first=0 if node_voltages else max(n - 2, 0))
    u = None
    if node_voltages:
        u = u_rows.transpose(1, 0, 2).copy()
        if drive_fixed:
            u[:, 0] = vt
    if sense_fixed:
        w[-1] = 0.0
        into_sense = g[-1][:, None] * u_rows[:, -1]                          # (P, K)
        if drive_fixed:
            into_sense[0] = g[-1, 0] * vt[-1]
        if n > 1:
            into_sense = into_sense + g_col * w[-2]
    else:
        into_sense = w[-1] / r_sense
    return into_sense.T, u, (w if node_voltages else None)


def _wire_degree(n: int, g_wire: float) -> np.ndarray:
    """Wire part of a ladder's diagonal (S): 2 g inside, g at both ends (0 for a single node)."""
    deg = np.full(n, 2.0 * g_wire)
    deg[0] -= g_wire
    deg[-1] -= g_wire
    return deg


class _SchurSystem:
    """S = A_u - C A_w^-1 C on row-node arrays laid out (P, N, K); the row ladders A_u precondition it."""

    def __init__(self, rows: Ladders, cols: Ladders, couple: np.ndarray):
        self.rows = rows.transposed()
        self.cols = cols
        self.couple_w = couple[:, :, None]                          # (N, P, 1) S
        self.couple_u = np.ascontiguousarray(couple.T)[:, :, None]  # (P, N, 1) S
        self._work: np.ndarray | None = None

    def coupling(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        """out = C A_w^-1 C x for (P, N, K) arrays, through one column-ladder sweep."""
        shape = (x.shape[1], x.shape[0], x.shape[2])
        if self._work is None or self._work.shape != shape:
            self._work = np.empty(shape)
        t = self._work
        np.multiply(x.transpose(1, 0, 2), self.couple_w, out=t)
        self.cols.solve(t, t)
        np.multiply(t.transpose(1, 0, 2), self.couple_u, out=out)
        return out


def _schur_cg(system: _SchurSystem, rhs: np.ndarray, rtol: float, max_iter: int) -> np.ndarray:
    """Block preconditioned CG on S u = rhs; every vector (last axis) has its own step lengths.

    With z = A_u^-1 r, the product A_u d of the search direction d = z + beta d' follows the recursion
    A_u d = r + beta A_u d', so each iteration costs one row sweep (z) and one column sweep (S d) only.
    """
    x = system.rows.solve(rhs, np.empty_like(rhs))  # uncoupled solution (column nodes grounded): first guess
    stop = rtol**2 * np.maximum(_dots(rhs, x), 1e-300)
    r = system.coupling(x, np.empty_like(x))  # rhs - S x = rhs - A_u x + C A_w^-1 C x, and A_u x = rhs
    z = system.rows.solve(r, np.empty_like(r))
    rz = _dots(r, z)
    d = z.copy()
    a_d = r.copy()                 # A_u d
    s_d = np.empty_like(x)         # S d
    step = np.empty_like(x)
    for _ in range(max_iter):
        active = rz > stop
        if not np.any(active):
            return x
        system.coupling(d, s_d)
        np.subtract(a_d, s_d, out=s_d)
        alpha = np.where(active, rz / np.maximum(_dots(d, s_d), 1e-300), 0.0)
        np.multiply(s_d, alpha, out=step)
        r -= step
        np.multiply(d, alpha, out=step)
        x += step
        system.rows.solve(r, z)
        rz_new = _dots(r, z)
        beta = np.where(active, rz_new / np.maximum(rz, 1e-300), 0.0)
        d *= beta
        d += z
        a_d *= beta
        a_d += r
        rz = rz_new
    if np.any(rz > stop):
        raise SimulationError(f"crossbar CG did not reach rtol {rtol:g} within {max_iter} iterations "
                              f"(worst relative residual {np.sqrt(np.max(rz / stop)) * rtol:.3g})")
    return x


def _dots(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-vector inner products over all nodes: (K,)."""
    return np.einsum("ijk,ijk->k", a, b)
