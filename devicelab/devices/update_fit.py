"""Fitting conductance-update models to pulse traces with lmfit, model selection, synthetic traces and plots.

For each polarity the mean step magnitude is fitted with every family of :data:`~devicelab.devices.update.FAMILIES`
against both variables (G and the pulse count n since the last reversal/RESET); the candidate with the lowest
information criterion (BIC by default, AIC on request) is kept. All candidates are fitted to the same steps, so
their criteria are comparable.

Spread. A measured step is the difference of two noisy reads, so its variance is the write (cycle-to-cycle)
variance plus twice the read variance, and read noise makes consecutive steps anti-correlated:
cov(r_k, r_k+1) = -sigma_read^2. The read noise is estimated from that lag-1 covariance of the residuals and
removed from the fitted spread law (which is fitted to |r| sqrt(pi/2), unbiased for Gaussian residuals).

Device-to-device spread: the mean law is refitted with its shape fixed and only the scale free, per device; the
spread of those scales minus their estimation noise is ``d2d``. With one device only, ramps play the role of
devices (ramp-to-ramp spread), which the result states.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from devicelab.devices.update import (
    FAMILIES,
    RESET,
    SET,
    VARIABLES,
    AbruptReset,
    SpreadLaw,
    StepLaw,
    UpdateModel,
    step_magnitude,
)
from devicelab.errors import ConfigError, FitQualityWarning, InputFileError
from devicelab.measurements.pulses import PulseTable

if TYPE_CHECKING:
    from lmfit.model import ModelResult

_SQRT_PI_2 = float(np.sqrt(np.pi / 2.0))


@dataclass(frozen=True)
class StepCandidate:
    """One fitted mean-step law: its parameters (S / dimensionless), their standard errors and fit statistics."""

    law: StepLaw
    alpha_stderr: float
    shape_stderr: float
    chisqr: float
    aic: float
    bic: float
    n_points: int


@dataclass(frozen=True)
class PolarityFit:
    """Fit of one polarity: all candidates, the chosen law, the spread law and the noise decomposition.

    ``read_noise`` (S) is the read-noise std estimated from the step residuals; ``step_std_total`` (S) the
    raw residual std; ``scales`` the per-group step scales behind ``d2d``.
    """

    polarity: int
    candidates: tuple[StepCandidate, ...]
    chosen: StepCandidate
    spread: SpreadLaw
    read_noise: float
    step_std_total: float
    d2d: float
    scales: np.ndarray = field(repr=False)
    n_steps: int = 0


@dataclass(frozen=True)
class UpdateFitResult:
    """Result of :func:`fit_update_model`: the model plus everything needed to judge it."""

    model: UpdateModel
    set_fit: PolarityFit
    reset_fit: PolarityFit | None
    criterion: str
    d2d_source: str
    source: str

    def fit_report(self) -> str:
        """Human-readable summary (a string; nothing is printed)."""
        lines = [f"update-model fit of {self.source} (selection by {self.criterion.upper()}; "
                 f"d2d from {self.d2d_source})"]
        for fit in (self.set_fit, self.reset_fit):
            if fit is None:
                ar = self.model.abrupt_reset
                if ar is None:  # UpdateModel has either a gradual RESET (fitted) or an abrupt one
                    raise ConfigError("update-model fit: no RESET fit and no abrupt RESET in the model")
                lines.append(f"RESET: abrupt to {ar.g_reset:.4g} S +- {ar.g_reset_std:.3g} S")
                continue
            name = "SET" if fit.polarity == SET else "RESET"
            lines.append(f"{name}: {fit.n_steps} steps; chosen {fit.chosen.law.family} in "
                         f"{fit.chosen.law.variable}; residual std {fit.step_std_total:.3g} S, "
                         f"read noise {fit.read_noise:.3g} S, d2d {fit.d2d:.3f}")
            lines.append("  family       var   alpha (S)      shape        AIC        BIC")
            for c in sorted(fit.candidates, key=lambda c: getattr(c, self.criterion)):
                lines.append(f"  {c.law.family:12s} {c.law.variable:3s} {c.law.alpha:.4g}+-{c.alpha_stderr:.2g} "
                             f"{c.law.shape:+.4g}+-{c.shape_stderr:.2g} {c.aic:10.1f} {c.bic:10.1f}")
            lines.append(f"  spread: sigma = {fit.spread.s0:.3g} S + {fit.spread.s1:.3g} S * u "
                         f"(u from {'G' if fit.spread.variable == 'g' else 'n'})")
        return "\n".join(lines)


def _model_function(family, variable, g_lo, g_hi, n_ref):
    def mean_step(x, alpha, shape):
        if variable == "g":
            return step_magnitude(family, alpha, shape, (x - g_lo) / (g_hi - g_lo), x / g_hi)
        return step_magnitude(family, alpha, shape, x / n_ref, (x + 1.0) / n_ref)
    return mean_step


def fit_step_law(x, magnitude, family: str, variable: str, g_lo: float, g_hi: float,
                 n_ref: float = 100.0) -> StepCandidate:
    """Fit one mean-step family by least squares (lmfit) to step magnitudes (S) against ``x`` (G in S, or n).

    Returns a :class:`StepCandidate` carrying the law, standard errors, chi-square and AIC/BIC.
    """
    import lmfit

    x = np.asarray(x, float)
    y = np.asarray(magnitude, float)
    scale = max(float(np.mean(np.abs(y))), 1e-30)
    model = lmfit.Model(_model_function(family, variable, g_lo, g_hi, n_ref), independent_vars=["x"])
    params = model.make_params(alpha=dict(value=scale, min=0.0), shape=dict(value=0.1, min=-20.0, max=20.0))
    # Fit in units of the mean step so that the optimizer's tolerances are meaningful.
    result = model.fit(y / scale, params, x=x, nan_policy="raise")
    alpha = result.params["alpha"].value * scale
    law = StepLaw(family, variable, alpha, float(result.params["shape"].value), g_lo, g_hi, n_ref)
    chisqr = float(result.chisqr) * scale**2
    def err(name, factor=1.0):
        se = result.params[name].stderr
        return float("nan") if se is None else float(se) * factor
    return StepCandidate(law, err("alpha", scale), err("shape"), chisqr, float(result.aic), float(result.bic), y.size)


def _fit_spread(g, n, residual, g_lo, g_hi, n_ref, variables, criterion) -> SpreadLaw:
    """Linear spread law in G or n (lowest information criterion) fitted to |r| sqrt(pi/2)."""
    import lmfit

    target = np.abs(residual) * _SQRT_PI_2
    scale = max(float(target.mean()), 1e-30)
    model = lmfit.models.LinearModel()
    best: tuple[ModelResult, str] | None = None
    for variable in variables:
        u = (np.asarray(g, float) - g_lo) / (g_hi - g_lo) if variable == "g" else np.asarray(n, float) / n_ref
        result = model.fit(target / scale, model.make_params(slope=0.0, intercept=1.0), x=u)
        if best is None or getattr(result, criterion) < getattr(best[0], criterion):
            best = (result, variable)
    if best is None:
        raise ConfigError("spread-law fit: no candidate variable given (expected 'g' and/or 'n')")
    result, variable = best
    return SpreadLaw(float(result.params["intercept"].value) * scale, float(result.params["slope"].value) * scale,
                     g_lo, g_hi, variable, n_ref)


def _lag1_read_variance(residual, ramp_id) -> float:
    same = ramp_id[1:] == ramp_id[:-1]
    if not same.any():
        return 0.0
    return max(-float(np.mean(residual[1:][same] * residual[:-1][same])), 0.0)


def _scale_spread(magnitude, mean, sigma, groups) -> tuple[float, np.ndarray]:
    """Relative spread of per-group step scales, minus their estimation noise (see module docstring)."""
    scale_list: list[float] = []
    noise_var: list[float] = []
    for grp in np.unique(groups):
        m = groups == grp
        denom = float(np.sum(mean[m] ** 2))
        if denom <= 0 or m.sum() < 3:
            continue
        scale_list.append(float(np.sum(magnitude[m] * mean[m]) / denom))
        noise_var.append(float(np.sum(mean[m] ** 2 * sigma[m] ** 2)) / denom**2)
    scales = np.asarray(scale_list)
    if scales.size < 2:
        return 0.0, scales
    rel = scales / scales.mean()
    excess = rel.var(ddof=1) - np.mean(noise_var) / scales.mean() ** 2
    return float(np.sqrt(max(excess, 0.0))), scales


def _fit_polarity(table: PulseTable, polarity: int, families, variables, criterion, g_lo, g_hi,
                  n_ref, per_device: bool, edge_fraction: float) -> PolarityFit:
    steps = table.steps(polarity)
    n_steps = steps["dg"].size
    if n_steps < 10:
        raise InputFileError(table.source, f"only {n_steps} consecutive {'SET' if polarity == SET else 'RESET'} "
                             "steps; at least 10 are needed to fit an update law")
    magnitude = polarity * steps["dg"]
    # Steps that start close to the edge they move towards can be truncated by saturation, which the step
    # laws do not describe; they are left out. The cut depends on the start only, so it does not bias the
    # mean of the steps kept: margin = max(edge_fraction * range, 99th percentile of |dG|).
    margin = max(edge_fraction * (g_hi - g_lo), float(np.quantile(np.abs(steps["dg"]), 0.99)))
    inside = (g_hi - steps["g"] > margin) if polarity == SET else (steps["g"] - g_lo > margin)
    if inside.sum() < 10:
        raise InputFileError(table.source, f"only {int(inside.sum())} steps away from the saturation edge")
    steps = {k: v[inside] for k, v in steps.items()}
    magnitude = magnitude[inside]
    candidates = []
    for variable in variables:
        x = steps["g"] if variable == "g" else steps["n"].astype(float)
        for family in families:
            candidates.append(fit_step_law(x, magnitude, family, variable, g_lo, g_hi, n_ref))
    chosen = min(candidates, key=lambda c: getattr(c, criterion))
    mean = chosen.law(g=steps["g"], n=steps["n"])
    ramp_id = steps["device"] * 1_000_003 + steps["ramp"]
    groups = steps["device"] if per_device else ramp_id
    # Cycle-to-cycle residuals are taken about each group's own scaled mean, so that device-to-device
    # variation neither inflates the spread nor hides the read noise's negative lag-1 covariance.
    group_scale = np.ones_like(mean)
    for grp in np.unique(groups):
        m = groups == grp
        denom = float(np.sum(mean[m] ** 2))
        if denom > 0:
            group_scale[m] = np.sum(magnitude[m] * mean[m]) / denom
    residual = magnitude - group_scale * mean
    read_var = _lag1_read_variance(residual, ramp_id)
    total_var = float(np.mean(residual**2))
    write_fraction = np.sqrt(max(1.0 - 2.0 * read_var / total_var, 0.0)) if total_var > 0 else 0.0
    spread_total = _fit_spread(steps["g"], steps["n"], residual, g_lo, g_hi, n_ref, variables, criterion)
    spread = dataclasses.replace(spread_total, s0=spread_total.s0 * write_fraction,
                                 s1=spread_total.s1 * write_fraction)
    d2d, scales = _scale_spread(magnitude, mean, np.maximum(spread_total(steps["g"], steps["n"]), 1e-30), groups)
    if chosen.law.alpha == 0 or not np.isfinite(chosen.shape_stderr):
        import warnings
        warnings.warn(FitQualityWarning(f"{table.source}: the chosen step law has undetermined parameters "
                                        f"({chosen.law}); check the fit report"), stacklevel=3)
    return PolarityFit(polarity, tuple(candidates), chosen, spread, float(np.sqrt(read_var)),
                       float(np.sqrt(total_var)), d2d, scales, int(inside.sum()))


def _is_abrupt(table: PulseTable, threshold: float, g_range: float) -> bool:
    steps = table.steps(RESET)
    first = steps["first"]
    return bool(first.any() and np.mean(-steps["dg"][first]) > threshold * g_range)


def fit_update_model(table: PulseTable, *, families=FAMILIES, variables=VARIABLES, criterion: str = "bic",
                     n_ref: float = 100.0, abrupt_threshold: float = 0.5, edge_fraction: float = 0.02,
                     name: str | None = None) -> UpdateFitResult:
    """Fit an :class:`UpdateModel` to pulse traces (SET ramps required; RESET gradual or abrupt).

    Parameters
    ----------
    table : PulseTable
        Pulse traces in S.
    families, variables : sequences of str
        Candidate step-law families and variables (``"g"``, ``"n"``).
    criterion : "bic" or "aic"
        Information criterion that selects the mean-step law.
    n_ref : float
        Pulse-count normalization of n-laws.
    abrupt_threshold : float
        RESET is taken as abrupt when the first RESET pulse of a ramp removes on average more than this
        fraction of the conductance range; then ``g_reset`` is the mean (std) read after that pulse.
    edge_fraction : float
        Steps starting closer than this fraction of the range (or than the 99th percentile of |dG|) to the
        edge they move towards are not fitted (saturation truncates them).
    """
    if criterion not in ("aic", "bic"):
        raise ConfigError(f"criterion must be 'aic' or 'bic', got {criterion!r}")
    if not set(variables) <= set(VARIABLES) or not set(families) <= set(FAMILIES) or not families or not variables:
        raise ConfigError(f"families must be from {FAMILIES} and variables from {VARIABLES}")
    g_lo, g_hi = float(np.min(table.g)), float(np.max(table.g))
    if not g_hi > g_lo:
        raise InputFileError(table.source, "all conductances are equal; nothing to fit")
    per_device = table.n_devices > 1
    set_fit = _fit_polarity(table, SET, families, variables, criterion, g_lo, g_hi, n_ref, per_device,
                                edge_fraction)
    has_reset = bool(np.any(table.polarity == RESET))
    reset_fit, abrupt = None, None
    if has_reset and _is_abrupt(table, abrupt_threshold, g_hi - g_lo):
        steps = table.steps(RESET)
        first = steps["first"]
        after = steps["g"][first] + steps["dg"][first]
        abrupt = AbruptReset(float(np.mean(after)), float(np.std(after, ddof=1)) if after.size > 1 else 0.0)
    elif has_reset:
        reset_fit = _fit_polarity(table, RESET, families, variables, criterion, g_lo, g_hi, n_ref, per_device,
                                edge_fraction)
    else:
        raise InputFileError(table.source, "no RESET ramps: cannot tell gradual from abrupt RESET")
    fits = [f for f in (set_fit, reset_fit) if f is not None]
    model = UpdateModel(
        g_min=g_lo if abrupt is None else min(g_lo, abrupt.g_reset),
        g_max=g_hi,
        set_step=set_fit.chosen.law,
        set_spread=set_fit.spread,
        reset_step=None if reset_fit is None else reset_fit.chosen.law,
        reset_spread=None if reset_fit is None else reset_fit.spread,
        abrupt_reset=abrupt,
        d2d=float(np.mean([f.d2d for f in fits])),
        # A misfit of the mean law adds positive lag-1 covariance, so each polarity's read-noise estimate is a
        # lower bound; reads do not depend on the polarity, so the larger is kept.
        read_noise=float(max(f.read_noise for f in fits)),
        name=name or f"fit of {table.source}",
    )
    source = "devices" if per_device else "ramps (one device: ramp-to-ramp spread stands in for device-to-device)"
    return UpdateFitResult(model, set_fit, reset_fit, criterion, source, table.source)


def synthetic_pulse_table(model: UpdateModel, rng: np.random.Generator, *, n_devices: int = 4, n_cycles: int = 5,
                          set_pulses: int = 100, reset_pulses: int = 100, read_noise: float = 0.0) -> PulseTable:
    """Pulse traces generated from ``model``: per device and cycle a SET ramp then a RESET ramp.

    Each ramp starts with a read before its first pulse (pulse 0). ``read_noise`` (S) is added to every read,
    not to the state. Abrupt-RESET models get one RESET pulse per ramp. Device step scales are drawn with the
    model's d2d. Returns a :class:`PulseTable` with ramp numbers 2c (SET) and 2c+1 (RESET) of cycle c.
    """
    rows: dict[str, list[np.ndarray]] = {k: [] for k in ("device", "ramp", "pulse", "polarity", "g")}
    scale = model.device_scales(n_devices, rng)
    g = np.full(n_devices, model.g_min)
    devices = np.arange(n_devices)
    for cycle in range(n_cycles):
        for polarity, count in ((SET, set_pulses), (RESET, 1 if model.unidirectional else reset_pulses)):
            states, n = [g], np.zeros(n_devices)
            for _ in range(count):
                g = model.pulse(g, polarity, rng, n=n, scale=scale)
                n = n + 1
                states.append(g)
            reads = np.stack(states, axis=1)  # (device, pulse)
            reads = np.maximum(reads + read_noise * rng.standard_normal(reads.shape), 0.0)
            rows["g"].append(reads.ravel())
            rows["device"].append(np.repeat(devices, count + 1))
            rows["ramp"].append(np.full(reads.size, 2 * cycle + (polarity == RESET)))
            rows["pulse"].append(np.tile(np.arange(count + 1), n_devices))
            rows["polarity"].append(np.full(reads.size, polarity))
    cat = {k: np.concatenate(v) for k, v in rows.items()}
    return PulseTable(cat["device"].astype(np.int64), cat["ramp"].astype(np.int64), cat["pulse"].astype(np.int64),
                      cat["polarity"].astype(np.int8), cat["g"], np.arange(n_devices).astype(str),
                      f"synthetic from {model.name}")


def _binned(x, y, bins: int = 12):
    edges = np.quantile(x, np.linspace(0, 1, bins + 1))
    idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, bins - 1)
    centers, means, stds = [], [], []
    for k in range(bins):
        m = idx == k
        if m.sum() >= 5:
            centers.append(x[m].mean())
            means.append(y[m].mean())
            stds.append(y[m].std(ddof=1))
    return np.asarray(centers), np.asarray(means), np.asarray(stds)


def plot_update_fit(table: PulseTable, result: UpdateFitResult):
    """Measured mean step and spread (binned) with the fitted laws, per polarity; returns a Figure.

    Rows: SET, RESET (gradual only). Columns: mean step vs G (G-laws), mean step vs n (n-laws), step spread vs
    G (the raw residual spread and the fitted write-noise law). Steps in uS, conductances in mS.
    """
    from matplotlib.figure import Figure

    fits = [f for f in (result.set_fit, result.reset_fit) if f is not None]
    fig = Figure(figsize=(13, 3.6 * len(fits)))
    axes = fig.subplots(len(fits), 3, squeeze=False)
    for row, fit in zip(axes, fits):
        name = "SET" if fit.polarity == SET else "RESET"
        steps = table.steps(fit.polarity)
        magnitude = fit.polarity * steps["dg"]
        for ax, variable in zip(row[:2], ("g", "n")):
            x = steps["g"] if variable == "g" else steps["n"].astype(float)
            xc, ym, ys = _binned(x, magnitude)
            scale_x = 1e3 if variable == "g" else 1.0
            ax.errorbar(xc * scale_x, ym * 1e6, ys * 1e6, fmt="o", color="k", ms=3, label="measured (mean, std)")
            grid = np.linspace(x.min(), x.max(), 200)
            for cand in fit.candidates:
                if cand.law.variable != variable:
                    continue
                best = cand is fit.chosen
                curve = cand.law(g=grid, n=grid)
                ax.plot(grid * scale_x, curve * 1e6, lw=2.5 if best else 1, ls="-" if best else "--",
                        label=f"{cand.law.family} ({result.criterion.upper()} {getattr(cand, result.criterion):.0f})"
                              + (" *" if best else ""))
            ax.set_xlabel("G before pulse (mS)" if variable == "g" else "pulses since ramp start n")
            ax.set_ylabel(f"|mean {name} step| (uS)")
            ax.legend(fontsize=7)
            ax.grid(alpha=0.3)
        mean = fit.chosen.law(g=steps["g"], n=steps["n"])
        on_g = fit.spread.variable == "g"
        x = steps["g"] if on_g else steps["n"].astype(float)
        scale_x = 1e3 if on_g else 1.0
        xc, _, ys = _binned(x, magnitude - mean)
        ax = row[2]
        ax.plot(xc * scale_x, ys * 1e6, "o", color="k", ms=3, label="residual std (write + 2x read)")
        grid = np.linspace(x.min(), x.max(), 100)
        ax.plot(grid * scale_x, fit.spread(grid, grid) * 1e6, lw=2, label="fitted write spread")
        ax.axhline(fit.read_noise * 1e6, color="gray", ls=":", label="read noise")
        ax.set_xlabel("G before pulse (mS)" if on_g else "pulses since ramp start n")
        ax.set_ylabel(f"{name} step spread (uS)")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.suptitle(f"update-model fit: {result.source}", fontsize=9)
    fig.tight_layout()
    return fig


def plot_update_trajectories(table: PulseTable, model: UpdateModel, rng: np.random.Generator, n_ramps: int = 5):
    """Measured ramps (conductance vs pulse, mS) next to ramps simulated from ``model``; returns a Figure."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.6))
    axes = fig.subplots(1, 2)
    for ax, polarity in zip(axes, (SET, RESET)):
        ramps = [r for r in table.ramps() if r[1] == polarity][:n_ramps]
        if not ramps:
            ax.set_visible(False)
            continue
        for k, (_, _, _, pulse, g) in enumerate(ramps):
            ax.plot(pulse, g * 1e3, color="k", lw=0.8, alpha=0.6, label="measured" if k == 0 else None)
            sim = model.trajectory(len(g) - 1, polarity, g[0], rng=rng)[:, 0]
            ax.plot(pulse, sim * 1e3, color="tab:red", lw=0.8, alpha=0.7, label="model" if k == 0 else None)
        ax.set_xlabel("pulse index")
        ax.set_ylabel("G (mS)")
        ax.set_title("SET ramps" if polarity == SET else "RESET ramps")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
