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

Two backends compute the same iteration. The compiled one (numba kernels of
:mod:`~devicelab.spice.crossbar.ladder_kernels`, used whenever numba imports) processes one ladder (or a block
of adjacent columns) at a time with the vectors innermost, fusing the CG vector updates and inner products
into the two sweeps: 11 passes over the (N, P, K) arrays per iteration, threads sharing the ladders. The
numpy backend (the fallback without numba; logged once) sweeps all ladders of a family at once, one
position per step (about 17 passes per iteration), threads taking blocks of input vectors. The compiled
kernels are compiled on first use (a few seconds) and cached on disk next to the module (or in numba's
user cache directory when the install is read-only).

Stopping rule: every vector stops when the preconditioned residual norm ``sqrt(r^T A_u^-1 r)`` has fallen
below ``rtol`` times its initial value (the energy norm of the error of the Schur system shrinks with it);
the output currents are then evaluated from the solved node voltages.

Units: conductances in S, voltages in V, currents in A.
"""

from __future__ import annotations

import importlib
import logging
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType

import numpy as np

from devicelab.errors import ConfigError, SimulationError

_log = logging.getLogger(__name__)
#: Backends of :func:`solve_linear_passive`.
BACKENDS = ("auto", "compiled", "numpy")


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
                         r_sense: float, *, rtol: float, max_iter: int, node_voltages: bool = True,
                         workers: int = 1, backend: str = "auto"):
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
    workers : int
        Threads (>= 1). Compiled backend: the ladders (rows, blocks of columns) are split between them.
        NumPy backend: the input vectors are split into one block per thread.
    backend : {"auto", "compiled", "numpy"}
        ``"compiled"``: the numba kernels of :mod:`~devicelab.spice.crossbar.ladder_kernels` (ConfigError if
        numba cannot be imported); ``"numpy"``: vectorized numpy sweeps; ``"auto"``: compiled when numba is
        available, else numpy (logged once). Both give the same answer to within the stopping tolerance.

    Returns
    -------
    tuple
        Currents (K, P) A into the virtual grounds; row-node voltages u (N, P, K) V; column-node voltages
        w (N, P, K) V.

    Raises
    ------
    SimulationError
        If CG has not converged within ``max_iter`` iterations.
    ConfigError
        For an unknown ``backend``, ``backend="compiled"`` without numba, or ``workers`` < 1.
    """
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ConfigError(f"crossbar iterative solver workers: expected an integer >= 1, got {workers!r}")
    kernels = _backend(backend)
    g, v = np.asarray(g, dtype=np.float64), np.asarray(v, dtype=np.float64)
    if kernels is None:
        return _numpy_blocks(g, v, r_row, r_col, r_driver, r_sense, rtol, max_iter, node_voltages, int(workers))
    return _solve_compiled(kernels, g, v, r_row, r_col, r_driver, r_sense, rtol, max_iter, node_voltages,
                           int(workers))


def _solve_compiled(kernels, g, v, r_row, r_col, r_driver, r_sense, rtol, max_iter, node_voltages, workers):
    """The compiled backend of :func:`solve_linear_passive` (same arguments and results; float64 inputs)."""
    n, p = g.shape
    k = v.shape[0]
    net = _Network(g, r_row, r_col, r_driver, r_sense)
    vt = v.T                                            # (N, K)
    rhs = np.zeros((n, p, k))                           # (N, P, K): only one position next to the drivers is nonzero
    if net.drive_fixed:
        if p > 1:
            rhs[:, 1] = net.g_row * vt
    else:
        rhs[:, 0] = vt / r_driver
    with _Tiles(workers) as tiles:
        solver = _CompiledSchur(kernels, net, tiles, k)
        u = solver.cg(rhs, rtol, max_iter)                                  # (N, P, K), rhs reused
        if net.drive_fixed:
            u[:, 0] = vt
        w = np.multiply(u, net.couple[:, :, None], out=solver.spare)      # a CG work array (fresh pages cost)
        if net.into_col0 is not None:
            w[:, 0] += net.into_col0 * vt
        solver.column_solve(w, 0 if node_voltages else max(n - 2, 0))
    return _outputs(net, u, w, vt, node_voltages)


class _Network:
    """Ladder diagonals and couplings (S) of one crossbar, fixed nodes turned into identity equations.

    Fixed nodes (an ideal driver at row position 0, an ideal virtual ground at column position N-1) stay as
    identity equations with their couplings moved to the right-hand side, so every ladder keeps its length.
    ``into_col0`` (N, 1) S: conductance from each fixed row node into column 0 (None with a driver resistor).
    """

    def __init__(self, g: np.ndarray, r_row: float, r_col: float, r_driver: float, r_sense: float):
        n, p = g.shape
        self.g = g
        self.g_row, self.g_col = 1.0 / r_row, 1.0 / r_col
        self.r_sense = r_sense
        self.drive_fixed, self.sense_fixed = r_driver <= 0, r_sense <= 0
        self.couple = g.copy()                          # cell conductances coupling free row and column nodes
        self.row_couple, self.col_couple = np.full(p - 1, self.g_row), np.full(n - 1, self.g_col)
        self.row_diag = g + _wire_degree(p, self.g_row)[None, :]
        self.col_diag = g + _wire_degree(n, self.g_col)[:, None]
        self.into_col0: np.ndarray | None = None
        if self.drive_fixed:
            # u[:, 0] = v as identity equations; their couplings move to the neighbours' right-hand sides.
            # Column 0's nodes then only see fixed row nodes: they decouple from the CG unknowns.
            self.row_diag[:, 0] = 1.0
            self.couple[:, 0] = 0.0
            if p > 1:
                self.row_couple[0] = 0.0
            self.into_col0 = g[:, 0, None].copy()
        else:
            self.row_diag[:, 0] += 1.0 / r_driver
        if self.sense_fixed:
            # w[-1] = 0 (virtual ground): identity equations, nothing to move (the fixed value is 0 V)
            self.col_diag[-1] = 1.0
            self.couple[-1] = 0.0
            if self.into_col0 is not None:
                self.into_col0[-1] = 0.0
            if n > 1:
                self.col_couple[-1] = 0.0
        else:
            self.col_diag[-1] += 1.0 / r_sense


def _outputs(net: _Network, u: np.ndarray, w: np.ndarray, vt: np.ndarray, node_voltages: bool):
    """(currents (K, P) A, u, w) from the solved row nodes ``u`` (N, P, K) V (at a fixed driver: v or 0) and
    the column nodes ``w`` (N, P, K) V (solved down to row N-2 at least)."""
    n = u.shape[0]
    if net.sense_fixed:
        w[-1] = 0.0
        into_sense = net.g[-1][:, None] * u[-1]                             # (P, K)
        if net.drive_fixed:
            into_sense[0] = net.g[-1, 0] * vt[-1]
        if n > 1:
            into_sense = into_sense + net.g_col * w[-2]
    else:
        into_sense = w[-1] / net.r_sense
    return into_sense.T, (u if node_voltages else None), (w if node_voltages else None)


def _numpy_blocks(g, v, r_row, r_col, r_driver, r_sense, rtol, max_iter, node_voltages, workers):
    """:func:`_solve_numpy` on blocks of the input vectors, one thread per block (numpy releases the GIL in
    the vectorized sweeps); results concatenated in vector order."""
    blocks = [b for b in np.array_split(np.arange(v.shape[0]), min(workers, v.shape[0])) if b.size]

    def run(block):
        return _solve_numpy(g, v[block], r_row, r_col, r_driver, r_sense, rtol, max_iter, node_voltages)

    if len(blocks) == 1:
        return run(blocks[0])
    with ThreadPoolExecutor(len(blocks)) as pool:
        parts = list(pool.map(run, blocks))
    currents = np.concatenate([part[0] for part in parts])
    if not node_voltages:
        return currents, None, None
    return (currents, np.concatenate([part[1] for part in parts], axis=2),
            np.concatenate([part[2] for part in parts], axis=2))


def _solve_numpy(g, v, r_row, r_col, r_driver, r_sense, rtol, max_iter, node_voltages):
    """The numpy backend of :func:`solve_linear_passive` (same arguments and results)."""
    n, p = g.shape
    k = v.shape[0]
    net = _Network(g, r_row, r_col, r_driver, r_sense)
    vt = v.T                                            # (N, K)
    # Row-node arrays are laid out (P, N, K), column-node arrays (N, P, K): each ladder family then sweeps
    # contiguous slabs. Only one slab of each right-hand side is nonzero (next to the drivers).
    rhs = np.zeros((p, n, k))
    if net.drive_fixed:
        if p > 1:
            rhs[1] = net.g_row * vt
    else:
        rhs[0] = vt / r_driver
    system = _SchurSystem(Ladders(net.row_diag, net.row_couple, axis=1),
                          Ladders(net.col_diag, net.col_couple, axis=0), net.couple)
    u_rows = _schur_cg(system, rhs, rtol, max_iter)                          # (P, N, K)
    w = np.multiply(u_rows.transpose(1, 0, 2), system.couple_w, out=np.empty((n, p, k)))
    if net.into_col0 is not None:
        w[:, 0] += net.into_col0 * vt
    # the sense currents need the column voltages next to the sense only: skip the rest of the back sweep
    system.cols.solve(w, w, first=0 if node_voltages else max(n - 2, 0))
    u = u_rows.transpose(1, 0, 2)
    if node_voltages:
        u = u.copy()
        if net.drive_fixed:
            u[:, 0] = vt
    return _outputs(net, u, w, vt, node_voltages)


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
    for iteration in range(max_iter):
        active = rz > stop
        if not np.any(active):
            return _converged(x, iteration, "numpy")
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
    _check_converged(rz, stop, rtol, max_iter)
    return _converged(x, max_iter, "numpy")


def _dots(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-vector inner products over all nodes: (K,)."""
    return np.einsum("ijk,ijk->k", a, b)


_KERNELS: dict[str, ModuleType | None] = {}


def compiled_available() -> bool:
    """True if the compiled (numba) backend can be used (numba importable and the kernels defined)."""
    return _load_kernels() is not None


def _load_kernels() -> ModuleType | None:
    """The kernel module, imported on first use (numba costs ~0.3 s to import); None without numba."""
    if "module" not in _KERNELS:
        try:
            kernels = importlib.import_module("devicelab.spice.crossbar.ladder_kernels")
        except (ImportError, OSError) as error:  # numba missing or broken: the numpy sweeps give the same answers
            _log.info("numba not available (%s): the crossbar iterative solver uses its numpy sweeps "
                      "(same results, about 3x slower; pip install numba for the compiled kernels)", error)
            _KERNELS["module"] = None
        else:
            _KERNELS["module"] = kernels if _self_check(kernels) else None
    return _KERNELS["module"]


def _self_check(kernels: ModuleType) -> bool:
    """Compile (or load from cache) the kernels on a 5 x 4 crossbar and compare with the numpy sweeps; False,
    logged as a warning, if compilation fails or the answers differ (a numba version the kernels do not suit)."""
    rng = np.random.default_rng(0)
    g, v = rng.uniform(1e-6, 1e-4, (5, 4)), rng.uniform(-0.2, 0.2, (3, 5))
    args = (g, v, 10.0, 20.0, 0.0, 50.0, 1e-12, 100, True)
    try:
        got = _solve_compiled(kernels, *args, 1)[0]
    except Exception as error:  # any numba failure (typing, lowering, LLVM) must leave the solver usable
        _log.warning("compiled crossbar kernels unusable (%s: %s): the numpy sweeps are used instead",
                     type(error).__name__, error)
        return False
    expected = _solve_numpy(*args)[0]
    if not np.max(np.abs(got - expected)) <= 1e-9 * np.max(np.abs(expected)):  # NaN fails too
        _log.warning("compiled crossbar kernels disagree with the numpy sweeps on a 5 x 4 check: the numpy "
                     "sweeps are used instead")
        return False
    return True


def _backend(backend: str) -> ModuleType | None:
    """The kernel module for ``backend`` (None: numpy sweeps)."""
    if backend not in BACKENDS:
        raise ConfigError(f"crossbar iterative solver backend: expected one of {BACKENDS}, got {backend!r}")
    if backend == "numpy":
        return None
    kernels = _load_kernels()
    if kernels is None and backend == "compiled":
        raise ConfigError("crossbar iterative solver backend='compiled' needs numba (pip install numba); "
                          "use backend='auto' or 'numpy'")
    return kernels


def _factors(diag: np.ndarray, couple: np.ndarray):
    """Thomas factors of symmetric tridiagonal ladders along axis 0 of ``diag`` (positions, lines) S with
    off-diagonal ``-couple`` (positions - 1,) S: (inv ohm, fwd, bwd), each (positions, lines)."""
    n = diag.shape[0]
    pivot = np.empty_like(diag)
    pivot[0] = diag[0]
    for m in range(1, n):
        pivot[m] = diag[m] - couple[m - 1] ** 2 / pivot[m - 1]
    fwd, bwd = np.zeros_like(diag), np.zeros_like(diag)
    fwd[1:] = couple[:, None] / pivot[:-1]
    bwd[:-1] = couple[:, None] / pivot[:-1]
    return 1.0 / pivot, fwd, bwd


class _Tiles:
    """Runs a kernel over tiles ``[0, n_tiles)``: in one call, or split into contiguous ranges, one per thread
    (the kernels release the GIL and write per-tile partial sums, so the split does not change results)."""

    def __init__(self, workers: int):
        self.workers = workers
        self.pool = ThreadPoolExecutor(workers) if workers > 1 else None

    def __enter__(self) -> _Tiles:
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown()

    def __call__(self, kernel, n_tiles: int, *args) -> None:
        if self.pool is None or n_tiles < 2:
            kernel(*args, 0, n_tiles)
            return
        bounds = np.linspace(0, n_tiles, min(self.workers, n_tiles) + 1).astype(int)
        futures = [self.pool.submit(kernel, *(*args, int(a), int(b))) for a, b in zip(bounds[:-1], bounds[1:])]
        for future in futures:
            future.result()


class _CompiledSchur:
    """Block preconditioned CG on S u = rhs with the compiled kernels; arrays (N, P, K), one CG iteration =
    one column pass (d update, C A_w^-1 C d) and one row pass (r, x update, z = A_u^-1 r)."""

    #: Values (columns x vectors) per node row of a column tile: contiguous runs of 8 kB, long enough for the
    #: hardware prefetcher, while a tile (N x 1024 doubles, 8 MB at N = 1024) stays in the last-level cache
    #: between its forward and back sweep.
    TILE_VALUES = 1024

    def __init__(self, kernels: ModuleType, net: _Network, tiles: _Tiles, k: int):
        self.kernels, self.tiles = kernels, tiles
        n, p = net.g.shape
        inv, fwd, bwd = _factors(np.ascontiguousarray(net.row_diag.T), net.row_couple)
        self.row = (np.ascontiguousarray(inv.T), np.ascontiguousarray(fwd.T), np.ascontiguousarray(bwd.T))
        self.row_diag = np.ascontiguousarray(net.row_diag)
        self.row_couple = np.zeros(p + 1)             # wire conductance between positions j-1 and j at index j
        self.row_couple[1:p] = net.row_couple
        self.col = _factors(np.ascontiguousarray(net.col_diag), net.col_couple)
        self.couple = np.ascontiguousarray(net.couple)
        # columns per column tile; at least 8 tiles so that threads share them (independent of the threads)
        self.width = max(1, min(-(-self.TILE_VALUES // k), p // 8))
        self.n_col_tiles = -(-p // self.width)
        self.n = n
        self.spare: np.ndarray | None = None          # a work array free after :meth:`cg`

    def cg(self, rhs: np.ndarray, rtol: float, max_iter: int) -> np.ndarray:
        """Solve S u = rhs (A) for u (V), all arrays (N, P, K); ``rhs`` is overwritten (used as work space)."""
        ker, run, n = self.kernels, self.tiles, self.n
        k = rhs.shape[2]
        part_rows, part_cols = np.empty((n, k)), np.empty((self.n_col_tiles, k))
        part_zad, part_dad = np.empty((n, k)), np.empty((n, k))
        x = np.empty_like(rhs)
        run(ker.row_solve, n, rhs, x, *self.row, part_rows)     # uncoupled solution (columns grounded)
        stop = rtol**2 * np.maximum(part_rows.sum(axis=0), 1e-300)
        d, q = np.empty_like(rhs), np.empty_like(rhs)       # the first column pass writes d before reading it
        beta = np.zeros(k)
        # r = rhs - S x = C A_w^-1 C x (A_u x = rhs); this pass also sets d = x, overwritten below
        run(ker.column_pass, self.n_col_tiles, x, d, beta, True, q, self.couple, *self.col, part_cols,
            self.width)
        r, q = q, rhs
        z = np.empty_like(rhs)
        run(ker.row_solve, n, r, z, *self.row, part_rows)
        rz = part_rows.sum(axis=0)
        d_au_d = rz.copy()                                      # first direction d = z: d^T A_u d = r^T z
        first = True
        for iteration in range(max_iter):
            active = rz > stop
            if not np.any(active):
                self.spare = z
                return _converged(x, iteration, "compiled")
            run(ker.column_pass, self.n_col_tiles, z, d, beta, first, q, self.couple, *self.col, part_cols,
                self.width)
            d_s_d = d_au_d - part_cols.sum(axis=0)
            alpha = np.where(active, rz / np.maximum(d_s_d, 1e-300), 0.0)
            run(ker.row_pass, n, alpha, d, q, r, x, z, self.row_diag, self.row_couple, *self.row, part_rows,
                part_zad, part_dad)
            rz_new = part_rows.sum(axis=0)
            beta = np.where(active, rz_new / np.maximum(rz, 1e-300), 0.0)
            # next direction z + beta d: its A_u energy from this pass's inner products (z^T A_u z = r^T z)
            d_au_d = rz_new + 2.0 * beta * part_zad.sum(axis=0) + beta**2 * part_dad.sum(axis=0)
            rz, first = rz_new, False
        _check_converged(rz, stop, rtol, max_iter)
        self.spare = z
        return _converged(x, max_iter, "compiled")

    def column_solve(self, w: np.ndarray, first_row: int) -> None:
        """w <- A_w^-1 w (A -> V) in place, (N, P, K); back substitution down to row ``first_row`` only."""
        self.tiles(self.kernels.column_solve, self.n_col_tiles, w, w, *self.col, self.width, first_row)


def _converged(x: np.ndarray, iterations: int, backend: str) -> np.ndarray:
    """``x``, after logging the iteration count at DEBUG level (record attribute ``cg_iterations``)."""
    _log.debug("crossbar CG (%s) converged in %d iterations, %d vectors", backend, iterations, x.shape[2],
               extra={"cg_iterations": iterations})
    return x


def _check_converged(rz: np.ndarray, stop: np.ndarray, rtol: float, max_iter: int) -> None:
    """SimulationError if any vector's preconditioned residual is still above its stopping value."""
    if np.any(rz > stop):
        raise SimulationError(f"crossbar CG did not reach rtol {rtol:g} within {max_iter} iterations "
                              f"(worst relative residual {np.sqrt(np.max(rz / stop)) * rtol:.3g})")
