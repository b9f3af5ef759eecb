"""Crossbar plots: IR-drop heat map of cell voltages and solver error vs array size (matplotlib Figures)."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure


def plot_ir_drop(cell_voltages: np.ndarray, applied: np.ndarray | None = None, title: str = "") -> Figure:
    """Heat map of the voltage across each cell (V), shape (rows, physical_cols).

    With ``applied`` (rows,) V, the map shows the fraction of the applied row voltage that reaches each
    cell, V_cell / V_i (1 = no IR drop; rows with V_i = 0 are blank).
    """
    cells = np.asarray(cell_voltages, dtype=np.float64)
    if cells.ndim != 2:
        raise ValueError(f"cell_voltages: expected (rows, cols), got shape {cells.shape}")
    fig = Figure(figsize=(5.5, 4.5), layout="constrained")
    ax = fig.add_subplot()
    if applied is not None:
        applied = np.asarray(applied, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            data = np.where(applied[:, None] != 0, cells / applied[:, None], np.nan)
        label = "V_cell / V_row applied"
    else:
        data, label = cells, "cell voltage (V)"
    image = ax.imshow(data, origin="upper", aspect="auto", cmap="viridis", interpolation="nearest")
    fig.colorbar(image, ax=ax, label=label)
    ax.set_xlabel("column (driver side at left)")
    ax.set_ylabel("row (sense side at bottom)")
    ax.set_title(title or "IR drop: voltage across each cell")
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
