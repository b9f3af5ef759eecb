"""Plots of the network stage: plain functions taking data and returning a matplotlib Figure."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure


def plot_accuracy_vs_time(result, title: str | None = None) -> Figure:
    """Test accuracy (%) vs time after programming (s, log axis) for every curve of an
    :class:`~devicelab.inference.evaluate.EvaluationResult` (mean +- std over repeats), float baseline dashed.

    t = 0 reads are drawn at the left edge (0.3x the smallest positive time) since a log axis has no 0.
    """
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.add_subplot()
    curves = list(result.curves.values())
    labels = list(result.curves)
    times = curves[0].times if curves else np.array([1.0])
    positive = times[times > 0]
    t_zero = 0.3 * positive.min() if positive.size else 1.0
    for label, curve in zip(labels, curves):
        x = np.where(curve.times > 0, curve.times, t_zero)
        ax.errorbar(x, 100 * curve.mean, yerr=100 * curve.std, marker="o", capsize=3, label=label)
    ax.axhline(100 * result.float_accuracy, color="k", linestyle="--", label="float baseline")
    ax.set_xscale("log")
    ax.set_xlabel("time after programming (s)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title or f"{result.network} on {result.dataset}, {result.device_model}, "
                 f"compensation: {result.compensation}", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_energy_breakdown(energy, title: str | None = None) -> Figure:
    """Stacked bars of the energy per inference (J, log-free linear axis) of every layer of a
    :class:`~devicelab.inference.energy.NetworkEnergy`, split into array, wires, DAC, sense, ADC and digital."""
    from devicelab.behavioral.periphery import BREAKDOWN

    fig = Figure(figsize=(max(6.4, 0.6 * len(energy.layers) + 2), 4.2))
    ax = fig.add_subplot()
    names = [layer.name for layer in energy.layers]
    x = np.arange(len(names))
    bottom = np.zeros(len(names))
    for part in BREAKDOWN:
        values = np.array([getattr(layer.energy, part) for layer in energy.layers], dtype=float)
        ax.bar(x, values, bottom=bottom, label=part)
        bottom += values
    ax.set_xticks(x, names, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("energy per inference (J)")
    ax.set_title(title or f"energy per inference {energy.energy.total:.3g} J, {energy.tops_per_watt:.3g} TOPS/W "
                          "(2 ops/MAC)", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_pareto(points, title: str | None = None) -> Figure:
    """Accuracy (%) against energy per inference (J, log axis) of trade-off ``points`` (dicts with ``energy``,
    ``accuracy`` and ``label``); the Pareto front (no other point has lower energy and higher accuracy) is
    joined by a line."""
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.add_subplot()
    energy = np.array([p["energy"] for p in points], dtype=float)
    accuracy = np.array([100 * p["accuracy"] for p in points], dtype=float)
    ax.scatter(energy, accuracy, color="tab:gray", zorder=2)
    for p, e, a in zip(points, energy, accuracy):
        ax.annotate(p["label"], (e, a), fontsize=7, xytext=(3, 3), textcoords="offset points")
    front = pareto_front(energy, accuracy)
    ax.plot(energy[front], accuracy[front], color="tab:red", marker="o", label="Pareto front", zorder=3)
    ax.set_xscale("log")
    ax.set_xlabel("energy per inference (J)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title or "accuracy vs energy", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def pareto_front(cost, value) -> np.ndarray:
    """Indices of the points no other point dominates (lower or equal ``cost`` and higher or equal ``value``,
    one of them strictly), sorted by cost."""
    cost, value = np.asarray(cost, dtype=float), np.asarray(value, dtype=float)
    order = np.lexsort((-value, cost))
    front, best = [], -np.inf
    for i in order:
        if value[i] > best:
            front.append(i)
            best = value[i]
    return np.array(front, dtype=int)
