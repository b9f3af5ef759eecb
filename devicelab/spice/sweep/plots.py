"""Plots of sweep summaries (rows of :func:`devicelab.spice.sweep.results.summarize_sweep`).

Each function takes the summary rows and returns a :class:`matplotlib.figure.Figure` (no pyplot state).
Errors are full-scale relative (dimensionless); resistances in ohm.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
from matplotlib.figure import Figure


def _aggregate(rows: list[dict], key, group, value: str) -> dict:
    """{group label: (sorted x values, mean, max)} of ``value`` over all rows sharing (group, x)."""
    table: dict = defaultdict(lambda: defaultdict(list))
    for row in rows:
        y = row[value]
        if y is not None and not (isinstance(y, float) and math.isnan(y)):
            table[group(row)][key(row)].append(y)
    out = {}
    for label, by_x in sorted(table.items()):
        xs = sorted(by_x)
        out[label] = (np.array(xs, dtype=float), np.array([np.mean(by_x[x]) for x in xs]),
                      np.array([np.max(by_x[x]) for x in xs]))
    return out


def _wire_label(row: dict) -> str:
    r_row, r_col = row["r_row"], row["r_col"]
    return f"r = {r_row:g} ohm" if r_row == r_col else f"r_row = {r_row:g}, r_col = {r_col:g} ohm"


def _size_label(row: dict) -> str:
    return f"{row['rows']}x{row['cols']}"


def plot_ideal_error(rows: list[dict]) -> Figure:
    """Error of the ideal V.G model (vs the reference engine) against array size and wire resistance.

    Left: one line per wire resistance, x = number of cells; right: one line per array size, x = wire
    resistance (ohm, r_row when r_row != r_col). Lines are means over the other sweep axes (conductances,
    inputs, devices, repeats); markers without lines are the maxima.
    """
    fig = Figure(figsize=(10, 4), layout="constrained")
    ax_size, ax_r = fig.subplots(1, 2)
    for label, (x, mean, peak) in _aggregate(rows, lambda r: r["rows"] * r["cols"], _wire_label,
                                             "err_ideal").items():
        line, = ax_size.plot(x, mean, "o-", label=label)
        ax_size.plot(x, peak, "v", color=line.get_color(), alpha=0.6)
    ax_size.set(xscale="log", yscale="log", xlabel="cells (rows x cols)", ylabel="ideal-model error (full scale)",
                title="ideal V.G model vs array size")
    by_size = _aggregate(rows, lambda r: r["r_row"], _size_label, "err_ideal")
    for label, (x, mean, peak) in sorted(by_size.items(), key=lambda kv: _cells(kv[0])):
        line, = ax_r.plot(x, mean, "o-", label=label)
        ax_r.plot(x, peak, "v", color=line.get_color(), alpha=0.6)
    ax_r.set(xscale="log" if all(r["r_row"] > 0 for r in rows) else "linear", yscale="log",
             xlabel="wire resistance per segment (ohm)", ylabel="ideal-model error (full scale)",
             title="ideal V.G model vs wire resistance")
    for ax in (ax_size, ax_r):
        if ax.get_lines():
            ax.legend(fontsize="small")
        ax.grid(True, which="both", alpha=0.3)
    return fig


def plot_engine_agreement(rows: list[dict]) -> Figure:
    """Full-scale disagreement of the nodal solver with ngspice per point against number of cells."""
    fig = Figure(figsize=(5, 4), layout="constrained")
    ax = fig.subplots()
    pts = [(r["rows"] * r["cols"], r["err_nodal_ngspice"]) for r in rows if not math.isnan(r["err_nodal_ngspice"])]
    if pts:
        x, y = np.array(pts).T
        ax.plot(x, np.maximum(y, 1e-17), "o", alpha=0.7)
        ax.set(xscale="log", yscale="log")
    ax.set(xlabel="cells (rows x cols)", ylabel="nodal vs ngspice (full scale)", title="nodal solver vs ngspice")
    ax.grid(True, which="both", alpha=0.3)
    return fig


def _cells(label: str) -> int:
    rows, cols = label.split("x")
    return int(rows) * int(cols)
