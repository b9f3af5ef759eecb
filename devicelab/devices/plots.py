"""Plots of device-model fits: plain functions taking data and returning a :class:`matplotlib.figure.Figure`.

No pyplot state is used; save a figure with ``fig.savefig(path)``.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from devicelab.devices.fitbase import PartFit
from devicelab.devices.pcm import PCMModel

MICRO = 1e-6


def plot_drift(summary: dict, model: PCMModel) -> Figure:
    """Measured mean G (uS, with the device spread as error bars) vs time, and the fitted mean drift per level.

    ``summary`` is :attr:`PCMFitResult.drift_summary` (keys g_target, t, mean, std, fitted).
    """
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    levels = np.unique(summary["g_target"])
    colors = [f"C{k % 10}" for k in range(levels.size)]
    for level, color in zip(levels, colors):
        sel = summary["g_target"] == level
        order = np.argsort(summary["t"][sel])
        t = summary["t"][sel][order]
        ax.errorbar(t, summary["mean"][sel][order] / MICRO, yerr=summary["std"][sel][order] / MICRO, fmt="o",
                    ms=3, color=color, alpha=0.7, label=f"{level / MICRO:.3g} uS")
        ax.plot(t, summary["fitted"][sel][order] / MICRO, "-", color=color)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("time since programming t (s)")
    ax.set_ylabel("conductance G (uS)")
    ax.set_title(f"drift: measured mean +/- device spread (points), fitted mean (lines); t0 = {model.t0:g} s")
    ax.legend(fontsize=7, ncol=2)
    return fig


def plot_sigma_prog(part: PartFit, model: PCMModel) -> Figure:
    """Per-level programming spread (points with standard errors) and the fitted sigma_prog(G) polynomial."""
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.add_subplot()
    d = part.data
    ax.errorbar(d["g"] / MICRO, d["y"] / MICRO, yerr=d["yerr"] / MICRO, fmt="o", label="per level")
    grid = np.linspace(0, max(d["g"].max(), model.g_max), 200)
    ax.plot(grid / MICRO, model.sigma_prog(grid) / MICRO, "-", label=part.formula.split(",")[0])
    ax.set_xlabel("target conductance G (uS)")
    ax.set_ylabel("sigma_prog (uS)")
    ax.set_title(f"programming noise (degree chosen by {part.criterion.upper()})")
    ax.legend(fontsize=8)
    return fig


def plot_nu(mean_part: PartFit, std_part: PartFit, model: PCMModel, device_g=None, device_nu=None) -> Figure:
    """Drift exponent vs G: per-device estimates (scatter), per-level mean/spread and the fitted laws."""
    fig = Figure(figsize=(9, 4))
    ax_mean, ax_std = fig.subplots(1, 2)
    if device_g is not None and device_nu is not None:
        ok = np.isfinite(device_nu)
        jitter = 1 + 0.02 * np.sin(np.arange(ok.sum()))  # spread the per-level columns a little
        ax_mean.plot(device_g[ok] * jitter / MICRO, device_nu[ok], ".", ms=2, color="0.7", label="devices")
    lo = min(mean_part.data["g"].min(), std_part.data["g"].min())
    grid = np.geomspace(lo / 2, model.g_max, 200)
    mean, std = model.nu_stats(grid)
    for ax, part, curve, label in ((ax_mean, mean_part, mean, "mu_nu"), (ax_std, std_part, std, "sigma_nu")):
        d = part.data
        ax.errorbar(d["g"] / MICRO, d["y"], yerr=d["yerr"], fmt="o", color="C0", label="per level")
        ax.plot(grid / MICRO, curve, "-", color="C1", label="fit")
        ax.set_xscale("log")
        ax.set_xlabel("target conductance G (uS)")
        ax.set_ylabel(label)
        ax.legend(fontsize=8)
    ax_mean.set_title("drift exponent mean")
    ax_std.set_title("drift exponent spread")
    fig.tight_layout()
    return fig


def plot_psd(psd_fits, max_curves: int = 8) -> Figure:
    """Binned relative PSD of read-noise series (points) and fitted A/f^alpha (+W) (lines)."""
    fig = Figure(figsize=(6.5, 4.5), layout="constrained")
    ax = fig.add_subplot()
    for k, part in enumerate(list(psd_fits)[:max_curves]):
        d = part.data
        f = d["f"]
        model = part.value("A") * f ** -part.value("alpha") + (part.value("W") if "W" in part.params else 0.0)
        label = f"{float(d['g_target']) / MICRO:.3g} uS: alpha = {part.value('alpha'):.2f}"
        ax.loglog(f, d["psd"], "o", ms=3, color=f"C{k % 10}", alpha=0.7)
        ax.loglog(f, model, "-", color=f"C{k % 10}", label=label)
    ax.set_xlabel("frequency f (Hz)")
    ax.set_ylabel("S_G(f) / G^2 (1/Hz)")
    ax.set_title("read-noise PSD (Welch, log-binned) and fits")
    ax.legend(fontsize=7)
    return fig


def plot_read_noise(part: PartFit, model: PCMModel) -> Figure:
    """Q_s per device/level (points) and the fitted Q_s(G) law."""
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.add_subplot()
    d = part.data
    ax.errorbar(d["g"] / MICRO, d["y"], yerr=d["yerr"], fmt="o", label="estimates")
    grid = np.geomspace(d["g"].min() / 2, model.g_max, 200)
    ax.plot(grid / MICRO, model.q_s(grid), "-", label="fit")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("conductance G (uS)")
    ax.set_ylabel("Q_s (relative 1/f amplitude)")
    ax.set_title("read-noise amplitude")
    ax.legend(fontsize=8)
    return fig


def plot_spread_growth(spread_fits, max_curves: int = 8) -> Figure:
    """Conductance spread vs time per level (points with errors) and the chosen growth law (lines)."""
    fig = Figure(figsize=(6.5, 4.5), layout="constrained")
    ax = fig.add_subplot()
    fits = list(spread_fits)
    step = max(1, len(fits) // max_curves)
    for k, part in enumerate(fits[::step]):
        d = part.data
        t = d["t"]
        grid = np.geomspace(t.min(), t.max(), 100)
        lt = np.log10(grid)
        if str(d["form"]) == "linear":
            curve = part.value("s1") + part.value("k") * lt
        else:
            curve = np.sqrt(np.maximum(part.value("v1") + part.value("k2") * lt, 0.0))
        color = f"C{k % 10}"
        ax.errorbar(t, d["sigma"] / MICRO, yerr=d["sigma_err"] / MICRO, fmt="o", ms=3, color=color)
        ax.plot(grid, curve / MICRO, "-", color=color,
                label=f"{float(d['g_target']) / MICRO:.3g} uS ({d['form']})")
    ax.set_xscale("log")
    ax.set_xlabel("time after programming t (s)")
    ax.set_ylabel("spread sigma_G (uS)")
    ax.set_title("conductance spread growth")
    ax.legend(fontsize=7, ncol=2)
    return fig
