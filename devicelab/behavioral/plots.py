"""Plots of behavioral crossbar models: model vs reference scatter, error vs size and wire resistance,
per-column error maps. Plain functions that take data and return a matplotlib Figure (no pyplot state).

Currents in A (plotted in uA), resistances in ohm, errors as percentages.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from devicelab.behavioral.build import IDEAL_THRESHOLD, TARGET


def plot_model_vs_reference(i_reference: np.ndarray, i_model: np.ndarray, i_ideal: np.ndarray | None = None,
                            title: str = "") -> Figure:
    """Scatter of model (and ideal V.G) currents against the reference (SPICE or nodal) currents, in uA."""
    fig = Figure(figsize=(5.0, 4.6))
    ax = fig.add_subplot()
    ref = np.ravel(i_reference) * 1e6
    if i_ideal is not None:
        ax.scatter(ref, np.ravel(i_ideal) * 1e6, s=4, alpha=0.4, color="tab:gray", label="ideal V.G")
    ax.scatter(ref, np.ravel(i_model) * 1e6, s=4, alpha=0.6, color="tab:blue", label="behavioral model")
    lo, hi = float(min(ref.min(), 0.0)), float(ref.max())
    ax.plot([lo, hi], [lo, hi], color="black", lw=0.8, label="y = x")
    ax.set_xlabel("reference current (uA)")
    ax.set_ylabel("model current (uA)")
    ax.set_title(title or "behavioral crossbar model vs reference")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def plot_error_vs_size(rows) -> Figure:
    """Model and ideal normalized RMS error (%) against array size (one line per wire resistance) and
    against wire resistance (one line per size), from error-table rows (see ``build.ERROR_COLUMNS``)."""
    rows = list(rows)
    fig = Figure(figsize=(10.0, 4.2))
    ax_size, ax_wire = fig.subplots(1, 2)
    for ax, key, group, xlabel in ((ax_size, "rows", "r_row", "array size (rows)"),
                                   (ax_wire, "r_row", "rows", "wire resistance per segment (ohm)")):
        for k, value in enumerate(sorted({r[group] for r in rows})):
            sel = [r for r in rows if r[group] == value]
            xs = sorted({r[key] for r in sel})
            worst = [max(r["err_model"] for r in sel if r[key] == x) for x in xs]
            ideal = [max(r["err_ideal"] for r in sel if r[key] == x) for x in xs]
            color = f"C{k % 10}"
            label = f"{value:g} ohm" if group == "r_row" else f"{value}x{value}"
            ax.plot(xs, 100 * np.asarray(worst), "o-", color=color, label=f"model, {label}")
            ax.plot(xs, 100 * np.asarray(ideal), "x--", color=color, alpha=0.5, label=f"ideal, {label}")
        ax.axhline(100 * TARGET, color="red", lw=0.8, ls=":", label="1 % target")
        ax.axhline(100 * IDEAL_THRESHOLD, color="gray", lw=0.8, ls=":")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("worst normalized RMS error (%)")
        ax.legend(fontsize=6, ncol=2)
    ax_size.set_title("error vs array size")
    ax_wire.set_title("error vs wire resistance")
    fig.tight_layout()
    return fig


def plot_column_errors(i_reference: np.ndarray, i_model: np.ndarray, i_ideal: np.ndarray | None = None,
                       title: str = "") -> Figure:
    """Per-column error map: (model - reference) / rms(reference) in % for every vector (rows of the map)
    and column, plus the per-column RMS error of the model (and of the ideal model)."""
    ref = np.asarray(i_reference, dtype=float)
    scale = float(np.sqrt(np.mean(ref**2))) or 1.0
    rel = 100 * (np.asarray(i_model) - ref) / scale
    fig = Figure(figsize=(8.0, 5.6))
    ax_map, ax_col = fig.subplots(2, 1, height_ratios=(2, 1), sharex=True)
    lim = float(np.max(np.abs(rel))) or 1.0
    im = ax_map.imshow(rel, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
    fig.colorbar(im, ax=ax_map, label="(model - ref) / rms(ref) (%)")
    ax_map.set_ylabel("input vector")
    ax_map.set_title(title or "per-column error of the behavioral model")
    cols = np.arange(ref.shape[1])
    ax_col.plot(cols, np.sqrt(np.mean(rel**2, axis=0)), color="tab:blue", label="model")
    if i_ideal is not None:
        ideal = 100 * (np.asarray(i_ideal) - ref) / scale
        ax_col.plot(cols, np.sqrt(np.mean(ideal**2, axis=0)), color="tab:gray", label="ideal V.G")
        ax_col.set_yscale("log")
    ax_col.set_xlabel("column")
    ax_col.set_ylabel("column RMS error (%)")
    ax_col.legend(fontsize=8)
    fig.tight_layout()
    return fig
