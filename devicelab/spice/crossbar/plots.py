"""Crossbar plots: IR-drop heat map of cell voltages and solver error vs array size (matplotlib Figures)."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure


def plot_ir_drop(cell_voltages: np.ndarray, applied: np.ndarray | None = None, title: str = "") -> Figure:
    """Heat map of a crossbar's cells, shape (rows, physical_cols).

    With ``applied`` (rows,) V, the map shows the IR drop at each cell in mV: the applied row voltage minus
    the voltage across the cell, V_i - V_cell (0 = no drop). It is in volts, not relative to each row's own
    input, so rows with small inputs do not dominate the map and rows at 0 V show their (sneak) cell voltage
    instead of a blank stripe; the title states the largest input for scale. Without ``applied``: the voltage
    across each cell (V).
    """
    cells = np.asarray(cell_voltages, dtype=np.float64)
    if cells.ndim != 2:
        raise ValueError(f"cell_voltages: expected (rows, cols), got shape {cells.shape}")
    fig = Figure(figsize=(5.5, 4.5), layout="constrained")
    ax = fig.add_subplot()
    if applied is not None:
        applied = np.asarray(applied, dtype=np.float64)
        data = (applied[:, None] - cells) * 1e3
        label = "IR drop V_row - V_cell (mV)"
        v_max = float(np.max(np.abs(applied))) if applied.size else 0.0
        title = (title or "IR drop at each cell") + f" (largest input {v_max:.3g} V)"
    else:
        data, label = cells, "cell voltage (V)"
        title = title or "voltage across each cell"
    if np.any(data < 0) and np.any(data > 0):
        bound = float(np.max(np.abs(data)))
        image = ax.imshow(data, origin="upper", aspect="auto", cmap="RdBu_r", vmin=-bound, vmax=bound,
                          interpolation="nearest")
    else:
        image = ax.imshow(data, origin="upper", aspect="auto", cmap="viridis", interpolation="nearest")
    fig.colorbar(image, ax=ax, label=label)
    ax.set_xlabel("column (driver side at left)")
    ax.set_ylabel("row (sense side at bottom)")
    ax.set_title(title)
    return fig


def plot_error_vs_size(sizes: Sequence[int], errors: Mapping[str, Sequence[float]],
                       ylabel: str = "max relative error", title: str = "") -> Figure:
    """Log-log plot of one error curve per label against the array size N (N x N arrays)."""
    fig = Figure(figsize=(5.5, 4.0), layout="constrained")
    ax = fig.add_subplot()
    for label, values in errors.items():
        ax.loglog(np.asarray(sizes), np.asarray(values, dtype=np.float64), marker="o", label=label)
    ax.set_xlabel("array size N (N x N)")
    ax.set_ylabel(ylabel)
    ax.set_title(title or "error vs array size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return fig
