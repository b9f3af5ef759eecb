"""Exact, fast code lookup for a transfer table: ``code(x) = #{k : T_k <= x}`` without a binary search.

The input axis is cut into uniform cells of width h; the cell of x is ``floor((x - lo) / h)`` computed in the
input's own floating type, and the same computation places every transition level T_k (cast to that type)
in a cell. Rounding to nearest is monotone, so x >= T_k implies cell(x) >= cell(T_k): transitions in
lower cells are all <= x, those in higher cells all > x, and only a transition in x's own cell needs a
comparison. With at most one transition per cell (h is halved until that holds),

    code(x) = base[cell(x)] + (x >= level[cell(x)])

with ``base[c]`` the number of transitions in cells below c and ``level[c]`` the transition in cell c (NaN if
none, so the comparison is false). Two gathers per input instead of a branchy binary search; NaN inputs map
to cell 0 (code 0) because ``fmax``/``fmin`` ignore NaN, +-inf to the end cells.
"""

from __future__ import annotations

import math

import numpy as np

MAX_CELLS = 1 << 20  # beyond this (transition levels closer than ~range / 1e6): binary search


class CellTable:
    """Cell lookup of sorted transition levels ``t`` (V) for inputs of ``dtype`` (float32 or float64)."""

    def __init__(self, t: np.ndarray, lsb: float, dtype):
        self.dtype = np.dtype(dtype)
        self.levels = levels = np.asarray(t, dtype=self.dtype)
        self.ok = bool(levels.size) and bool(np.all(np.diff(levels) > 0))
        if not self.ok:  # repeated levels (missing codes) would need more than one comparison per cell
            return
        width = lsb / 4
        while True:
            lo = float(levels[0]) - 2 * width
            n = int(math.ceil((float(levels[-1]) - lo) / width)) + 3
            if n > MAX_CELLS:
                self.ok = False
                return
            self.lo, self.inv, self.top = self.dtype.type(lo), self.dtype.type(1.0 / width), self.dtype.type(n - 1)
            cells = self._cells(levels)
            if np.all(np.diff(cells) > 0) and cells[0] >= 0 and cells[-1] < n - 1:
                break
            width /= 2
        self.base = np.searchsorted(cells, np.arange(n), side="left").astype(np.int32)
        self.level = np.full(n, np.nan, dtype=self.dtype)
        self.level[cells] = levels

    def _cells(self, x: np.ndarray) -> np.ndarray:
        cell = np.asarray((x - self.lo) * self.inv)  # 0-d inputs give a scalar: make it an array for out=
        np.fmax(cell, self.dtype.type(0), out=cell)
        np.fmin(cell, self.top, out=cell)
        return cell.astype(np.int32)

    def codes(self, x: np.ndarray) -> np.ndarray:
        """Codes (int32) of inputs ``x`` of this table's dtype (binary search if the cell table could not be
        built, e.g. for repeated levels)."""
        if not self.ok:
            return np.where(np.isnan(x), 0, np.searchsorted(self.levels, x, side="right")).astype(np.int32)
        cell = self._cells(x)
        return np.asarray(self.base[cell] + (x >= self.level[cell]), dtype=np.int32)
