"""Generic relaxation and read-noise fits for measured data of any resistive memory (used on real RRAM data).

- :func:`fit_spread_growth`: per level, the conductance spread sigma(t) between devices at each read time,
  fitted as ``linear`` sigma = s1 + k log10(t / 1 s) or ``sqrt`` sigma = sqrt(v1 + k2 log10(t / 1 s)), the
  form chosen per level by AIC/BIC (both have two parameters);
- :func:`fit_noise_spectra`: per series, the 1/f PSD S_G(f)/G^2 = A / f^alpha (+ white floor, chosen by the
  criterion), i.e. amplitude and exponent per level (see :mod:`devicelab.devices.fit_noise`).

:func:`fit_relaxation` runs whichever applies to each table and returns a :class:`RelaxationResult`.

Fit quality is judged, not assumed: a spread fit is *poor* when its chi-square test fails (p-value below
:data:`POOR_FIT_P_VALUE` for n - 2 degrees of freedom) or when the law misses the longest read time by more than
:data:`END_RESIDUAL_LIMIT` standard errors (residuals that trend away at the end of the data, where the growth
rate matters most). For every (level, time) the fraction of cells beyond :data:`TAIL_SIGMAS` robust sigmas of
the median is reported: a few cells in a tail can dominate the std estimator (``estimator="mad"`` resists them).
:func:`fit_relaxation` emits one :class:`~devicelab.errors.FitQualityWarning` naming the poor levels.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import lmfit
import numpy as np

from devicelab.devices.fit_noise import fit_series_psd
from devicelab.devices.fit_pcm import classify_table
from devicelab.devices.fitbase import PartFit, check_criterion, choose, part_from_lmfit
from devicelab.errors import ConfigError, FitQualityWarning
from devicelab.measurements import MeasurementTable

SPREAD_FORMS = ("linear", "sqrt")
#: Consistency factor of the median absolute deviation for a normal distribution.
MAD_TO_SIGMA = 1.4826
#: A spread fit whose chi-square p-value is below this is poor (one level in a thousand by chance).
POOR_FIT_P_VALUE = 1e-3
#: A spread fit missing its longest read time by more standard errors than this is poor (trending residuals).
END_RESIDUAL_LIMIT = 3.0
#: Cells farther than this many robust sigmas (1.4826 MAD) from the median of their (level, time) are the tail.
TAIL_SIGMAS = 5.0


def spread_vs_time(table: MeasurementTable, *, min_devices: int = 20, estimator: str = "std") -> dict:
    """Spread (S) of G across devices per (level, read time > 0), with its standard error.

    ``estimator``: ``"std"`` (sample standard deviation) or ``"mad"`` (1.4826 x median absolute deviation,
    robust to stuck or outlying cells; its standard error is ~1.65x that of the std). Groups with fewer
    than ``min_devices`` reads are skipped. Returns arrays ``g_target`` (S), ``t`` (s), ``sigma`` (S),
    ``sigma_err`` (S), ``n`` and ``n_tail`` (cells beyond :data:`TAIL_SIGMAS` robust sigmas of the median).
    """
    if estimator not in ("std", "mad"):
        raise ConfigError(f"spread estimator must be 'std' or 'mad', got {estimator!r}")
    keep = table.t > 0  # log time: reads at t = 0 are the programming reference, not on the log axis
    keys = np.stack([table.g_target[keep], table.t[keep]])
    groups, idx = np.unique(keys, axis=1, return_inverse=True)
    idx = idx.ravel()
    g = table.g[keep]
    order = np.argsort(idx, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(idx, minlength=groups.shape[1]))]
    out: dict[str, list] = {k: [] for k in ("g_target", "t", "sigma", "sigma_err", "n", "n_tail")}
    for k in range(groups.shape[1]):
        values = g[order[bounds[k]:bounds[k + 1]]]
        n = values.size
        if n < min_devices:
            continue
        if estimator == "std":
            sigma = float(np.std(values, ddof=1))
            err = sigma / math.sqrt(2.0 * (n - 1))
        else:
            sigma = MAD_TO_SIGMA * float(np.median(np.abs(values - np.median(values))))
            err = 1.65 * sigma / math.sqrt(2.0 * n)
        out["g_target"].append(groups[0, k])
        out["t"].append(groups[1, k])
        out["sigma"].append(sigma)
        out["sigma_err"].append(err)
        out["n"].append(n)
        deviation = np.abs(values - np.median(values))
        out["n_tail"].append(int(np.sum(deviation > TAIL_SIGMAS * MAD_TO_SIGMA * np.median(deviation))))
    return {k: np.asarray(v, dtype=float) for k, v in out.items()}


def _spread_model(params, lt, form):
    p = params.valuesdict()
    if form == "linear":
        return p["s1"] + p["k"] * lt
    return np.sqrt(np.maximum(p["v1"] + p["k2"] * lt, 0.0))


def _spread_residual(params, lt, y, yerr, form):
    return (_spread_model(params, lt, form) - y) / yerr


def fit_spread_level(t, sigma, sigma_err, *, criterion: str = "bic", name: str = "spread") -> PartFit:
    """Fit the spread growth of one level: sigma (S) vs read time t (s), form chosen by ``criterion``.

    Parameters (SI): ``linear``: s1 (S, spread at 1 s), k (S per decade); ``sqrt``: v1 (S^2, variance at
    1 s), k2 (S^2 per decade). Needs >= 3 read times.
    """
    check_criterion(criterion)
    t, y, yerr = (np.asarray(a, dtype=float) for a in (t, sigma, sigma_err))
    if t.size < 3:
        raise ConfigError(f"{name}: spread growth needs >= 3 read times > 0 s, got {t.size}")
    lt = np.log10(t)
    scale = float(np.max(y))  # fit in units of the largest spread
    y_s, e_s = y / scale, yerr / scale
    fits = []
    for form in SPREAD_FORMS:
        params = lmfit.Parameters()
        if form == "linear":
            k, s1 = np.polyfit(lt, y_s, 1, w=1 / e_s)
            params.add("s1", value=s1)
            params.add("k", value=k)
        else:
            k2, v1 = np.polyfit(lt, y_s**2, 1, w=1 / (2 * y_s * e_s))
            params.add("v1", value=v1)
            params.add("k2", value=k2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            fits.append((form, lmfit.minimize(_spread_residual, params, args=(lt, y_s, e_s, form))))
    best, table = choose(fits, criterion)
    form, result = fits[best]
    scales = {"s1": scale, "k": scale, "v1": scale**2, "k2": scale**2}
    units = {"s1": "S", "k": "S", "v1": "S^2", "k2": "S^2"}
    formula = ("sigma = s1 + k log10(t/1 s)" if form == "linear" else "sigma = sqrt(v1 + k2 log10(t/1 s))")
    return part_from_lmfit(name, formula, result, units, scales=scales, candidates=table, criterion=criterion,
                           data={"t": t, "sigma": y, "sigma_err": yerr, "form": np.array(form)})


def growth_per_decade(part: PartFit) -> float:
    """Average increase of the spread per decade of time (S/decade) over the fitted time range."""
    t = part.data["t"]
    lt = np.log10([t.min(), t.max()])
    if str(part.data["form"]) == "linear":
        return part.value("k")
    sig = np.sqrt(np.maximum(part.value("v1") + part.value("k2") * lt, 0.0))
    return float((sig[1] - sig[0]) / (lt[1] - lt[0]))


def spread_fit_quality(part: PartFit) -> dict:
    """Quality of one spread fit: ``p_value`` of its chi-square (n - 2 degrees of freedom), ``end_residual``
    (normalized residual at the longest time, model - data in standard errors), ``poor`` and ``reasons``."""
    from scipy.stats import chi2

    t, y, yerr = part.data["t"], part.data["sigma"], part.data["sigma_err"]
    lt = np.log10(t)
    if str(part.data["form"]) == "linear":
        model = part.value("s1") + part.value("k") * lt
    else:
        model = np.sqrt(np.maximum(part.value("v1") + part.value("k2") * lt, 0.0))
    residuals = (model - y) / yerr
    dof = max(t.size - 2, 1)
    p_value = float(chi2.sf(float(np.sum(residuals**2)), dof))
    end = float(residuals[np.argmax(t)])
    reasons = []
    if p_value < POOR_FIT_P_VALUE:
        reasons.append(f"reduced chi2 {np.sum(residuals**2) / dof:.3g} (p = {p_value:.2g})")
    if abs(end) > END_RESIDUAL_LIMIT:
        reasons.append(f"misses the longest time by {end:+.1f} standard errors")
    return {"p_value": p_value, "end_residual": end, "poor": bool(reasons), "reasons": reasons}


def fit_spread_growth(table: MeasurementTable, *, criterion: str = "bic", min_devices: int = 20,
                      estimator: str = "std") -> list[PartFit]:
    """Spread growth vs log time for every level of a relaxation table (see :func:`fit_spread_level`).

    Each result's ``data`` also holds ``g_target`` (S), ``n`` and ``n_tail`` per time. Levels with < 3 usable
    read times are skipped.
    """
    pts = spread_vs_time(table, min_devices=min_devices, estimator=estimator)
    fits = []
    for level in np.unique(pts["g_target"]):
        sel = pts["g_target"] == level
        if sel.sum() < 3:
            continue
        part = fit_spread_level(pts["t"][sel], pts["sigma"][sel], pts["sigma_err"][sel], criterion=criterion,
                                name=f"spread {level * 1e6:.4g} uS")
        part.data["g_target"] = np.array(level)
        part.data["n"] = pts["n"][sel]
        part.data["n_tail"] = pts["n_tail"][sel]
        fits.append(part)
    if not fits:
        raise ConfigError(f"{table.source}: no level has >= 3 read times with >= {min_devices} devices")
    return fits


def fit_noise_spectra(table: MeasurementTable, *, criterion: str = "bic", white_floor: bool | None = None,
                      nperseg: int | None = None) -> list[PartFit]:
    """1/f PSD fit (amplitude A, exponent alpha, optional white floor) of every series; see fit_noise."""
    return fit_series_psd(table, white_floor=white_floor, criterion=criterion, nperseg=nperseg)


@dataclass(frozen=True)
class RelaxationResult:
    """Spread-growth fits per level and PSD fits per series, with the sources they came from."""

    spread: tuple = ()
    spectra: tuple = ()
    sources: tuple = ()

    def rows(self) -> dict[str, list[dict]]:
        """Table rows (JSON friendly) for reports: one per level (spread) and per series (spectra)."""
        spread = []
        for p in self.spread:
            quality = spread_fit_quality(p)
            tail = p.data.get("n_tail")
            spread.append({
                "g_target": float(p.data["g_target"]), "form": str(p.data["form"]),
                "sigma_first": float(p.data["sigma"][0]), "sigma_last": float(p.data["sigma"][-1]),
                "growth_per_decade": growth_per_decade(p), "redchi": p.redchi, "p_value": quality["p_value"],
                "end_residual": quality["end_residual"], "poor": quality["poor"],
                "quality": "; ".join(quality["reasons"]) or "ok",
                "tail_fraction_last": float(tail[-1] / p.data["n"][-1]) if tail is not None else math.nan,
                **{k: v.value for k, v in p.params.items()}, **{f"{k}_err": v.stderr for k, v in p.params.items()}})
        spectra = [{"g_target": float(p.data["g_target"]), "mean_g": float(p.data["mean_g"]),
                    "A": p.value("A"), "A_err": p.stderr("A"), "alpha": p.value("alpha"),
                    "alpha_err": p.stderr("alpha"), "S_abs_1Hz": p.value("A") * float(p.data["mean_g"]) ** 2,
                    "white": p.value("W") if "W" in p.params else 0.0, "model": p.formula}
                   for p in self.spectra]
        return {"spread": spread, "spectra": spectra, "tails": self.tail_fractions()}

    def tail_fractions(self) -> list[dict]:
        """Per read time (s): the fraction of cells, over all levels, beyond :data:`TAIL_SIGMAS` robust sigmas
        of their level's median, and the largest fraction of any level."""
        by_time: dict[float, list] = {}
        for p in self.spread:
            if "n_tail" not in p.data:
                continue
            for t, n, tail in zip(p.data["t"], p.data["n"], p.data["n_tail"]):
                by_time.setdefault(float(t), []).append((int(n), int(tail)))
        return [{"t": t, "fraction": sum(k for _, k in v) / sum(n for n, _ in v),
                 "max_level_fraction": max(k / n for n, k in v), "cells": sum(n for n, _ in v)}
                for t, v in sorted(by_time.items())]

    def quality_caveat(self) -> str | None:
        """One sentence naming the poor spread fits and the tail, or None when every fit is good."""
        rows = self.rows()["spread"]
        poor = [r for r in rows if r["poor"]]
        if not poor:
            return None
        worst = max(poor, key=lambda r: r["redchi"])
        tails = self.tail_fractions()
        tail_text = (f"; up to {max(t['fraction'] for t in tails) * 100:.2g} % of cells lie beyond "
                     f"{TAIL_SIGMAS:g} robust sigmas (at t = {max(tails, key=lambda t: t['fraction'])['t']:g} s)"
                     if tails else "")
        return (f"{len(poor)} of {len(rows)} spread fits are poor (worst: {worst['g_target'] * 1e6:.3g} uS, "
                f"{worst['quality']}){tail_text}: their growth rates are not reliable; a tail of a few cells "
                f"can dominate the std, try the robust estimator (fit --relaxation --robust)")


def fit_relaxation(*tables: MeasurementTable, criterion: str = "bic", min_devices: int = 20,
                   estimator: str = "std") -> RelaxationResult:
    """Fit spread growth (multi-time tables) and 1/f spectra (time-series tables) of measured data.

    Emits a :class:`~devicelab.errors.FitQualityWarning` when spread fits are poor (see the module docstring).
    """
    spread, spectra, sources = [], [], []
    for table in tables:
        kind = classify_table(table)
        if kind == "timeseries":
            spectra += fit_noise_spectra(table, criterion=criterion)
        elif kind in ("drift", "bake"):
            spread += fit_spread_growth(table, criterion=criterion, min_devices=min_devices, estimator=estimator)
        else:
            raise ConfigError(f"{table.source}: relaxation fits need several reads per device ({kind} data given)")
        sources.append({"source": table.source, "kind": kind, "sha256": table.sha256, "rows": len(table)})
    result = RelaxationResult(spread=tuple(spread), spectra=tuple(spectra), sources=tuple(sources))
    caveat = result.quality_caveat()
    if caveat:
        warnings.warn(caveat, FitQualityWarning, stacklevel=2)
    return result
