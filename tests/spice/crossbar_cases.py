"""Hand-derived reference solutions of small crossbars (independent of devicelab's solvers)."""

from __future__ import annotations

import numpy as np


def full_2x2_kcl(g, v, r_row, r_col, r_driver, r_sense):
    """Output currents (A) of a 2x2 passive linear crossbar with all four resistances > 0.

    Written out by hand from the canonical topology: unknowns are the 4 row nodes r_ij, 4 column nodes
    c_ij and the 2 sense-side nodes s_j is replaced by the sense resistor to ground (0 V).
    Unknown order: r00 r01 r10 r11 c00 c01 c10 c11. Returns (n_vectors, 2).
    """
    gd, gr, gc, gs = 1 / r_driver, 1 / r_row, 1 / r_col, 1 / r_sense
    out = []
    for v0, v1 in np.atleast_2d(v):
        a = np.zeros((8, 8))
        b = np.zeros(8)
        r00, r01, r10, r11, c00, c01, c10, c11 = range(8)

        def conductance(p, q, value):
            a[p, p] += value
            a[p, q] -= value
            a[q, q] += value
            a[q, p] -= value

        a[r00, r00] += gd
        b[r00] += gd * v0
        a[r10, r10] += gd
        b[r10] += gd * v1
        conductance(r00, r01, gr)
        conductance(r10, r11, gr)
        conductance(c00, c10, gc)
        conductance(c01, c11, gc)
        a[c10, c10] += gs
        a[c11, c11] += gs
        conductance(r00, c00, g[0, 0])
        conductance(r01, c01, g[0, 1])
        conductance(r10, c10, g[1, 0])
        conductance(r11, c11, g[1, 1])
        x = np.linalg.solve(a, b)
        out.append([x[c10] * gs, x[c11] * gs])
    return np.array(out)


def bisect(f, lo, hi, iterations=200):
    """Root of the increasing scalar function f on [lo, hi] by bisection (to machine precision)."""
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        if f(mid) > 0:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)
