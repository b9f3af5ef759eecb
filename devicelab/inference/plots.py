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
