"""Compiled (numba) kernels of the ladder-preconditioned CG of :mod:`~devicelab.spice.crossbar.ladder_cg`.

All node arrays are laid out (N, P, K): row index i, column position j, input vector k (innermost, so every
node's K values are contiguous and the inner loops vectorize over the vectors). A row ladder (row i, positions
j) is then one contiguous (P, K) block; a column ladder (column j, positions i) is a run of K values every
P K doubles. Each kernel processes whole ladders, one tile of lines at a time (a row, or a block of adjacent
columns), through forward elimination and back substitution, so a tile's working set stays in cache between
the two sweeps; the CG vector updates and the inner products are fused into the sweeps, so one CG iteration
reads or writes each (N, P, K) array at most twice (11 array passes in all).

Ladder factors (per line, positions m): the forward sweep is ``y_m = b_m + fwd_m y_{m-1}`` (``fwd_0 = 0``),
the back substitution ``x_m = inv_m y_m + bwd_m x_{m+1}`` (``bwd_{last} = 0``), with ``inv = 1 / pivot`` (ohm)
and ``fwd``, ``bwd`` the dimensionless weights ``couple / pivot`` of the Thomas algorithm. Every kernel
takes a tile range ``[t0, t1)``, releases the GIL, and writes per-tile partial inner products (tiles x K),
so callers may run disjoint tile ranges on several threads and sum the partials in a fixed order (results do
not depend on the number of threads).

Units: conductances S, voltages V, currents A; ``inv`` ohm; weights dimensionless.
"""

from __future__ import annotations

import numpy as np
from numba import njit


def _jit(function):
    """njit with nogil and an on-disk cache; without a writable cache location (read-only install and no user
    cache directory) numba refuses ``cache=True`` at decoration time: compile at first use instead."""
    try:
        return njit(cache=True, nogil=True)(function)
    except RuntimeError:
        return njit(nogil=True)(function)


@_jit
def row_solve(b, out, inv, fwd, bwd, partial, t0, t1):  # pragma: no cover - compiled
    """out = A_u^-1 b for rows t0..t1-1 (V from A); partial[i] = sum_j b[i, j] out[i, j] (per vector, A V)."""
    p, k = b.shape[1], b.shape[2]
    for i in range(t0, t1):
        acc = partial[i]
        for kk in range(k):
            out[i, 0, kk] = b[i, 0, kk]
            acc[kk] = 0.0
        for j in range(1, p):
            wf = fwd[i, j]
            for kk in range(k):
                out[i, j, kk] = b[i, j, kk] + wf * out[i, j - 1, kk]
        iv = inv[i, p - 1]
        for kk in range(k):
            x = out[i, p - 1, kk] * iv
            out[i, p - 1, kk] = x
            acc[kk] += b[i, p - 1, kk] * x
        for j in range(p - 2, -1, -1):
            iv, wb = inv[i, j], bwd[i, j]
            for kk in range(k):
                x = out[i, j, kk] * iv + wb * out[i, j + 1, kk]
                out[i, j, kk] = x
                acc[kk] += b[i, j, kk] * x


@_jit
def column_pass(z, d, beta, first, q, couple, inv, fwd, bwd, partial, width, t0, t1):  # pragma: no cover
    """Search direction update and coupling product on column tiles t0..t1-1 (``width`` columns each).

    d <- z (``first``) or z + beta d; q = C A_w^-1 C d (A); partial[t] = sum over the tile of
    (C d) . A_w^-1 (C d) (per vector, A V): the coupling part of d^T S d.
    """
    n, p, k = z.shape
    x_next = np.empty((width, k))
    for t in range(t0, t1):
        j0, j1 = t * width, min(p, (t + 1) * width)
        acc = partial[t]
        for kk in range(k):
            acc[kk] = 0.0
        for i in range(n):
            for j in range(j0, j1):
                c, wf = couple[i, j], fwd[i, j]
                for kk in range(k):
                    dn = z[i, j, kk] if first else z[i, j, kk] + beta[kk] * d[i, j, kk]
                    d[i, j, kk] = dn
                    y = c * dn
                    if i:
                        y += wf * q[i - 1, j, kk]
                    q[i, j, kk] = y
        for i in range(n - 1, -1, -1):
            for j in range(j0, j1):
                c, iv, wb = couple[i, j], inv[i, j], bwd[i, j]
                for kk in range(k):
                    x = q[i, j, kk] * iv
                    if i < n - 1:
                        x += wb * x_next[j - j0, kk]
                    x_next[j - j0, kk] = x
                    acc[kk] += c * d[i, j, kk] * x
                    q[i, j, kk] = c * x


@_jit
def column_solve(b, out, inv, fwd, bwd, width, first_row, t0, t1):  # pragma: no cover - compiled
    """out = A_w^-1 b on column tiles t0..t1-1 (V from A); the back substitution stops at row ``first_row``
    (rows above it are left as forward-sweep values)."""
    n, p, k = b.shape
    for t in range(t0, t1):
        j0, j1 = t * width, min(p, (t + 1) * width)
        for j in range(j0, j1):
            for kk in range(k):
                out[0, j, kk] = b[0, j, kk]
        for i in range(1, n):
            for j in range(j0, j1):
                wf = fwd[i, j]
                for kk in range(k):
                    out[i, j, kk] = b[i, j, kk] + wf * out[i - 1, j, kk]
        for j in range(j0, j1):
            for kk in range(k):
                out[n - 1, j, kk] *= inv[n - 1, j]
        for i in range(n - 2, first_row - 1, -1):
            for j in range(j0, j1):
                iv, wb = inv[i, j], bwd[i, j]
                for kk in range(k):
                    out[i, j, kk] = out[i, j, kk] * iv + wb * out[i + 1, j, kk]


@_jit
def row_pass(alpha, d, q, r, x, z, diag, couple, inv, fwd, bwd, rz, zad, dad, t0, t1):  # pragma: no cover
    """CG step and preconditioner on rows t0..t1-1.

    With s = A_u d - q (= S d, A): r <- r - alpha s, x <- x + alpha d, z = A_u^-1 r. ``couple`` (P + 1,) S
    holds the row wire conductance between positions j-1 and j at index j (0 at both ends). Per row and
    vector: rz = r . z, zad = z . A_u d, dad = d . A_u d (A V), from which the caller forms the next
    direction's d^T A_u d without another pass.
    """
    p, k = d.shape[1], d.shape[2]
    for i in range(t0, t1):
        acc_rz, acc_zad, acc_dad = rz[i], zad[i], dad[i]
        for kk in range(k):
            acc_rz[kk] = 0.0
            acc_zad[kk] = 0.0
            acc_dad[kk] = 0.0
        for j in range(p):
            jl, jr = max(j - 1, 0), min(j + 1, p - 1)
            dg, cl, cr, wf = diag[i, j], couple[j], couple[j + 1], fwd[i, j]
            for kk in range(k):
                dv = d[i, j, kk]
                aud = dg * dv - cl * d[i, jl, kk] - cr * d[i, jr, kk]
                acc_dad[kk] += dv * aud
                rv = r[i, j, kk] - alpha[kk] * (aud - q[i, j, kk])
                r[i, j, kk] = rv
                x[i, j, kk] += alpha[kk] * dv
                if j:
                    rv += wf * z[i, j - 1, kk]
                z[i, j, kk] = rv
        for j in range(p - 1, -1, -1):
            jl, jr = max(j - 1, 0), min(j + 1, p - 1)
            dg, cl, cr, iv, wb = diag[i, j], couple[j], couple[j + 1], inv[i, j], bwd[i, j]
            for kk in range(k):
                zv = z[i, j, kk] * iv
                if j < p - 1:
                    zv += wb * z[i, j + 1, kk]
                z[i, j, kk] = zv
                acc_rz[kk] += r[i, j, kk] * zv
                aud = dg * d[i, j, kk] - cl * d[i, jl, kk] - cr * d[i, jr, kk]
                acc_zad[kk] += zv * aud
