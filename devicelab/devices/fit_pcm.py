"""Fit a complete :class:`~devicelab.devices.PCMModel` from measurement tables: :func:`fit_pcm_model`.

Each table is one kind of experiment (:func:`classify_table` detects it, or the caller says):

- ``programming``: one read per device near t0 -> sigma_prog(G);
- ``drift``: every device read at several times -> per-device nu, the laws mu_nu(G), sigma_nu(G), and
  (from the read-to-read residuals) Q_s(G) when there is no time series;
- ``bake``: drift runs at two or more temperatures -> Arrhenius activation energy;
- ``timeseries``: dense uniform sampling -> 1/f PSD per device -> Q_s(G) (overrides the drift residuals);
- ``iv`` (:class:`~devicelab.measurements.IVTable`): read I-V sweeps -> V0.

Parts without data are taken from ``base`` (e.g. the joshi2020 preset) and listed as such in the result;
without a base a missing mandatory part (drift laws, read noise, programming noise) is an error.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import TypedDict

import numpy as np

from devicelab.devices import fit_drift, fit_laws, fit_noise, fit_program
from devicelab.devices.constants import DRIFT_FAMILIES, T0, T_READ, T_REF_TEMPERATURE
from devicelab.devices.fitbase import PartFit, check_criterion, spread_from_variance
from devicelab.devices.laws import LinearClip, LogLinearClip, PchipLaw, QuadraticClip
from devicelab.devices.pcm import PCMModel
from devicelab.errors import ConfigError
from devicelab.measurements import IVTable, MeasurementTable

log = logging.getLogger(__name__)

KINDS = ("programming", "drift", "bake", "timeseries", "iv")
#: A device with at least this many uniformly spaced reads is a read-noise time series.
MIN_SERIES_SAMPLES = 256


@dataclass(frozen=True)
class FitOptions:
    """Settings of :func:`fit_pcm_model`.

    Attributes
    ----------
    g_max : float or None
        Normalization conductance of the G laws, S (None: the largest target conductance in the data).
    t0 : float
        Drift reference time, s.
    t_read : float
        Read duration, s (sets the read-noise log term).
    t_ref_temperature : float
        Temperature at which the drift laws hold, K.
    criterion : str
        ``"aic"`` or ``"bic"``: chooses polynomial degree, drift-law family and clip variants.
    drift_laws : tuple of str
        Drift-exponent law families the criterion chooses among for mu_nu(G) and sigma_nu(G) (subset of
        :data:`~devicelab.devices.constants.DRIFT_FAMILIES`; ``("loglinear",)`` keeps the aihwkit form).
    max_degree : int
        Highest sigma_prog polynomial degree tried.
    min_devices : int
        Fewest devices per level for a level to enter the law fits.
    white_floor : bool or None
        Add a white floor to PSD fits (None: chosen by the criterion).
    """

    g_max: float | None = None
    t0: float = T0
    t_read: float = T_READ
    t_ref_temperature: float = T_REF_TEMPERATURE
    criterion: str = "bic"
    max_degree: int = 4
    min_devices: int = 5
    white_floor: bool | None = False
    drift_laws: tuple = DRIFT_FAMILIES

    def __post_init__(self):
        check_criterion(self.criterion)
        object.__setattr__(self, "drift_laws", tuple(self.drift_laws))
        bad = [f for f in self.drift_laws if f not in DRIFT_FAMILIES]
        if bad or not self.drift_laws:
            raise ConfigError(f"drift_laws must be a non-empty subset of {DRIFT_FAMILIES}, got {self.drift_laws}")
        if self.g_max is not None and not (math.isfinite(self.g_max) and self.g_max > 0):
            raise ConfigError(f"g_max must be finite and > 0 S, got {self.g_max}")
        if not (self.t0 > 0 and self.t_read > 0 and self.t_ref_temperature > 0):
            raise ConfigError("t0 (s), t_read (s) and t_ref_temperature (K) must be > 0")
        if self.max_degree < 0 or self.min_devices < 2:
            raise ConfigError("max_degree must be >= 0 and min_devices >= 2")


@dataclass(frozen=True)
class PCMFitResult:
    """A fitted PCM model with the per-part fits behind it.

    Attributes
    ----------
    model : PCMModel
        The fitted model; ``model.uncertainties`` mirrors ``model.to_dict()`` with standard errors.
    parts : dict of str -> PartFit
        Law fits by part: ``sigma_prog``, ``nu_mean``, ``nu_std``, ``read_noise``, ``activation_energy``, ``v0``.
    sources : tuple of dict
        Per input table: ``source``, ``kind``, ``sha256``, ``rows``, ``devices``.
    validity : dict
        Ranges the data covered: ``g_min``/``g_max`` (S), ``t_min``/``t_max`` (s), temperatures (K).
    notes : tuple of str
        Where each part came from (fitted from which data, or taken from the base model).
    psd_fits : tuple of PartFit
        Per-device PSD fits of time series (empty without time series).
    drift_summary : dict of ndarray
        Measured mean/std of G per (level, time) and the fitted model mean, for plots.
    device_drift : fit_drift.DeviceDrift or None
        Per-device drift fit.
    """

    model: PCMModel
    parts: dict
    sources: tuple
    validity: dict
    notes: tuple
    psd_fits: tuple = ()
    drift_summary: dict = field(default_factory=dict, repr=False)
    device_drift: object = field(default=None, repr=False)

    def summary(self) -> dict:
        """JSON-friendly statistics of every part fit, the sources and the validity range."""
        return {"parts": {k: p.summary() for k, p in self.parts.items()}, "sources": list(self.sources),
                "validity": dict(self.validity), "notes": list(self.notes)}

    def report(self) -> str:
        """Text report of all part fits."""
        lines = [f"PCM model fit ({self.model.name}), g_max = {self.model.g_max:.4g} S"]
        lines += [f"  {n}" for n in self.notes]
        lines += [p.report() for p in self.parts.values()]
        return "\n".join(lines)


def classify_table(table) -> str:
    """Detect what experiment a table holds (one of :data:`KINDS`).

    IVTable -> ``iv``; two or more temperatures -> ``bake``; devices with >= MIN_SERIES_SAMPLES uniformly
    spaced reads -> ``timeseries``; several read times per device -> ``drift``; one read per device ->
    ``programming``.
    """
    if isinstance(table, IVTable):
        return "iv"
    if not isinstance(table, MeasurementTable):
        raise ConfigError(f"cannot fit a {type(table).__name__}; expected a MeasurementTable or IVTable")
    if len(table) == 0:
        raise ConfigError(f"{table.source}: the table is empty")
    if table.temperature is not None and np.unique(table.temperature).size >= 2:
        return "bake"
    counts = np.bincount(np.unique(table.device, return_inverse=True)[1])
    if counts.max() == 1:
        return "programming"
    if counts.min() >= MIN_SERIES_SAMPLES:
        order = np.lexsort((table.t, table.device))
        dt = np.diff(table.t[order])[:MIN_SERIES_SAMPLES - 1]
        if np.all(dt > 0) and np.ptp(dt) <= 0.01 * np.median(dt):
            return "timeseries"
    return "drift"


def concat_tables(tables: list[MeasurementTable]) -> MeasurementTable:
    """One table from several, with device codes made distinct per input table."""
    if len(tables) == 1:
        return tables[0]
    offset, devices = 0, []
    for tab in tables:
        devices.append(tab.device + offset)
        offset += int(tab.device.max()) + 1
    temps = None
    if all(t.temperature is not None for t in tables):
        temps = np.concatenate([t.temperature for t in tables])
    return MeasurementTable(
        device=np.concatenate(devices), g_target=np.concatenate([t.g_target for t in tables]),
        t=np.concatenate([t.t for t in tables]), g=np.concatenate([t.g for t in tables]), temperature=temps,
        source=" + ".join(t.source for t in tables),
    )


def _drift_summary(table: MeasurementTable, model: PCMModel, g_prog_level: dict) -> dict:
    """Mean and std of G per (level, log-binned time) and the model's mean drift curve for each level."""
    bins = np.round(np.log10(np.maximum(table.t, 1e-12)) * 20)  # 0.05-decade time bins
    levels, level_idx = np.unique(table.g_target, return_inverse=True)
    bin_values, bin_idx = np.unique(bins, return_inverse=True)
    used, inv = np.unique(level_idx * bin_values.size + bin_idx, return_inverse=True)
    n = np.bincount(inv)
    mean = np.bincount(inv, table.g) / n
    sq = np.bincount(inv, table.g**2) / n
    t_mean = np.bincount(inv, table.t) / n
    level = levels[used // bin_values.size]
    mu, sd = model.nu_stats(level)
    log_ratio = np.log(np.maximum(t_mean / model.t0, 1.0))
    g0 = np.array([g_prog_level.get(float(lv), lv) for lv in level])
    fitted = g0 * np.exp(-mu * log_ratio + 0.5 * (sd * log_ratio) ** 2)
    return {"g_target": level, "t": t_mean, "mean": mean, "std": np.sqrt(np.maximum(sq - mean**2, 0)),
            "n": n.astype(float), "fitted": fitted}


def fit_pcm_model(*tables, kinds=None, options: FitOptions | None = None, base: PCMModel | None = None,
                  name: str = "fitted") -> PCMFitResult:
    """Fit every part of a PCM model from ``tables`` (MeasurementTable / IVTable); see the module docstring.

    ``kinds`` optionally gives the kind of each table (same order; None entries are detected).
    ``base`` supplies parts the data cannot (None: such parts are an error). Emits
    :class:`~devicelab.errors.FitQualityWarning` for fits that did not converge or sit on a bound.
    """
    opts = options or FitOptions()
    if not tables:
        raise ConfigError("fit_pcm_model needs at least one measurement table")
    kinds = list(kinds) if kinds is not None else [None] * len(tables)
    if len(kinds) != len(tables):
        raise ConfigError("kinds must give one entry per table")
    groups: dict[str, list] = {k: [] for k in KINDS}
    sources = []
    for table, kind in zip(tables, kinds):
        kind = kind or classify_table(table)
        if kind not in KINDS:
            raise ConfigError(f"unknown table kind {kind!r}; expected one of {', '.join(KINDS)}")
        groups[kind].append(table)
        sources.append({"source": table.source, "kind": kind, "sha256": table.sha256, "rows": len(table),
                        "devices": table.n_devices})
    meas = [t for k in KINDS if k != "iv" for t in groups[k]]
    g_all = np.concatenate([t.g_target for t in meas]) if meas else np.array([])
    g_max = opts.g_max or (float(g_all.max()) if g_all.size else (base.g_max if base else None))
    if not g_max or g_max <= 0:
        raise ConfigError("cannot tell g_max: give FitOptions(g_max=...) or measurement tables with targets")
    parts: dict[str, PartFit] = {}
    notes: list[str] = []
    unc: dict = {}
    crit = opts.criterion
    drift_kw: _TimeKw = {"t0": opts.t0, "t_read": opts.t_read, "t_ref_temperature": opts.t_ref_temperature}

    # --- Arrhenius first: bake data can then also serve as drift data at the reference temperature
    ea = base.activation_energy if base else None
    if groups["bake"]:
        bake = concat_tables(groups["bake"])
        parts["activation_energy"] = fit_drift.fit_activation_energy(bake, **drift_kw)
        ea = parts["activation_energy"].value("Ea")
        unc["activation_energy"] = parts["activation_energy"].stderr("Ea")
        notes.append(f"activation_energy: fitted from bake data ({bake.n_devices} devices)")
    elif base is not None:
        notes.append("activation_energy: from base model" if ea is not None else "activation_energy: none")

    # --- drift laws (and read-to-read noise) from drift tables, else bake tables at effective time
    drift_src = groups["drift"] or groups["bake"]
    device_drift, levels = None, None
    if drift_src:
        table = concat_tables(drift_src)
        with_temp = not groups["drift"]
        device_drift = fit_drift.fit_device_drift(table, activation_energy=ea if with_temp else None, **drift_kw)
        levels = fit_drift.nu_level_stats(device_drift, opts.min_devices)
        if levels["g"].size < 2:
            raise ConfigError(f"{table.source}: drift laws need >= 2 levels with >= {opts.min_devices} devices")
        for key, y, err in (("nu_mean", "mu", "mu_err"), ("nu_std", "sigma", "sigma_err")):
            parts[key] = fit_laws.fit_drift_law(levels["g"], levels[y], levels[err], g_max,
                                                families=opts.drift_laws, criterion=crit, name=key)
        nu_mean, unc["nu_mean"] = _pcm_drift_law(parts["nu_mean"])
        nu_std, unc["nu_std"] = _pcm_drift_law(parts["nu_std"])
        notes.append(f"nu laws: fitted from {'drift' if groups['drift'] else 'bake'} data "
                     f"({device_drift.device.size} devices, {levels['g'].size} levels)")
    elif base is not None:
        nu_mean, nu_std = base.nu_mean, base.nu_std
        notes.append("nu laws: from base model")
    else:
        raise ConfigError("no drift data (several reads per device) and no base model: cannot fit the nu laws")

    # --- read noise: PSD of time series, else read-to-read residuals of the drift fit
    psd_fits: tuple = ()
    if groups["timeseries"]:
        psd_fits = tuple(fit_noise.fit_series_psd(concat_tables(groups["timeseries"]),
                                                  white_floor=opts.white_floor, criterion=crit))
        pts = fit_noise.q_s_points(list(psd_fits))
        parts["read_noise"] = fit_laws.fit_power_law_clip(pts["g"], pts["q"], pts["q_err"], g_max,
                                                          criterion=crit)
        parts["read_noise"].data["alpha"] = pts["alpha"]
        notes.append(f"read noise: fitted from 1/f PSD of {len(psd_fits)} time series "
                     f"(mean exponent alpha = {np.mean(pts['alpha']):.3f})")
    elif levels is not None and np.all(np.isfinite(levels["q2_err"])) and np.all(levels["q2"] > 0):
        q = np.sqrt(levels["q2"])
        parts["read_noise"] = fit_laws.fit_power_law_clip(levels["g"], q, levels["q2_err"] / (2 * q), g_max,
                                                          criterion=crit)
        notes.append("read noise: fitted from read-to-read residuals of the drift fit")
    if "read_noise" in parts:
        read_noise, unc["read_noise"] = fit_laws.power_law(parts["read_noise"])
    elif base is not None:
        read_noise = base.read_noise
        notes.append("read noise: from base model")
    else:
        raise ConfigError("no read-noise data (time series or drift runs) and no base model")

    provisional = PCMModel(g_max=g_max, prog_coeffs=(0.0,), nu_mean=nu_mean, nu_std=nu_std,
                           read_noise=read_noise, t0=opts.t0, t_read=opts.t_read,
                           activation_energy=ea, t_ref_temperature=opts.t_ref_temperature)

    # --- programming noise: programming tables, else intercepts of the drift fit
    g_prog_level: dict = {}
    if groups["programming"]:
        table = concat_tables(groups["programming"])
        prog_levels = fit_program.sigma_prog_levels(table, provisional, opts.min_devices)
        notes.append(f"sigma_prog: fitted from programming reads ({len(table)} devices), read noise removed")
    elif device_drift is not None:
        prog_levels = _sigma_prog_from_drift(device_drift, opts.min_devices)
        notes.append("sigma_prog: fitted from drift-fit intercepts G(t0) (no programming table)")
    else:
        prog_levels = None
    if prog_levels is not None and prog_levels["g"].size >= 2:
        parts["sigma_prog"] = fit_program.fit_sigma_prog(prog_levels, g_max, max_degree=opts.max_degree,
                                                         criterion=crit)
        prog_coeffs, prog_err = fit_laws.polynomial_coeffs(parts["sigma_prog"])
        unc["prog_coeffs"] = list(prog_err)
    elif base is not None:
        prog_coeffs = tuple(c * g_max / base.g_max for c in base.prog_coeffs)
        notes.append("sigma_prog: from base model (rescaled to g_max)")
    else:
        raise ConfigError("no programming data (>= 2 levels) and no base model: cannot fit sigma_prog")

    # --- read I-V
    v0 = base.v0 if base else None
    if groups["iv"]:
        iv = groups["iv"]
        if len(iv) > 1:
            raise ConfigError("give at most one I-V table")
        parts["v0"] = fit_program.fit_read_iv(iv[0])
        v0 = parts["v0"].value("V0")
        unc["v0"] = parts["v0"].stderr("V0")
        notes.append(f"V0: fitted from I-V sweeps ({iv[0].n_devices} devices)")

    model = PCMModel(g_max=g_max, prog_coeffs=prog_coeffs, nu_mean=nu_mean, nu_std=nu_std, read_noise=read_noise,
                     t0=opts.t0, t_read=opts.t_read, activation_energy=ea,
                     t_ref_temperature=opts.t_ref_temperature, v0=v0, name=name, uncertainties=unc,
                     g_range=_g_range(meas, levels))
    summary = {}
    if device_drift is not None:
        for lv in np.unique(device_drift.g_target):
            g_prog_level[float(lv)] = float(np.nanmean(device_drift.g_prog[device_drift.g_target == lv]))
        summary = _drift_summary(concat_tables(drift_src), model, g_prog_level)
    return PCMFitResult(model=model, parts=parts, sources=tuple(sources), validity=_validity(meas),
                        notes=tuple(notes), psd_fits=psd_fits, drift_summary=summary, device_drift=device_drift)


class _TimeKw(TypedDict):
    """Time and temperature keywords shared by the drift fits (s, s, K)."""

    t0: float
    t_read: float
    t_ref_temperature: float


def _pcm_drift_law(part: PartFit) -> tuple[LogLinearClip | LinearClip | QuadraticClip | PchipLaw, dict]:
    """The drift law of a :func:`fit_laws.fit_drift_law` result, checked to be one the PCM model accepts."""
    law, errs = fit_laws.drift_law(part)
    if not isinstance(law, (LogLinearClip, LinearClip, QuadraticClip, PchipLaw)):
        raise ConfigError(f"{part.name}: a {type(law).__name__} is not a drift-exponent law of the PCM model "
                          "(expected LogLinearClip, LinearClip, QuadraticClip or PchipLaw)")
    return law, errs


def _sigma_prog_from_drift(drift: fit_drift.DeviceDrift, min_devices: int) -> dict:
    """sigma_prog per level from per-device intercepts: Var[G(t0) estimate] minus mean estimation variance."""
    out: dict[str, list[float]] = {k: [] for k in ("g", "sigma", "sigma_err", "n")}
    ok = np.isfinite(drift.g_prog_stderr) & np.isfinite(drift.nu)
    for level in np.unique(drift.g_target[ok]):
        sel = ok & (drift.g_target == level)
        n = int(sel.sum())
        if n < min_devices or level <= 0:
            continue
        total = float(np.var(drift.g_prog[sel], ddof=1))
        sigma, sigma_err = spread_from_variance(total - float(np.mean(drift.g_prog_stderr[sel] ** 2)),
                                                total * math.sqrt(2.0 / (n - 1)))
        out["g"].append(level)
        out["sigma"].append(sigma)
        out["sigma_err"].append(sigma_err)
        out["n"].append(n)
    return {k: np.asarray(v, dtype=float) for k, v in out.items()}


def _g_range(tables, levels) -> tuple[float, float] | None:
    """Target-conductance range (S) the laws rest on: the drift levels when there are drift data, else all targets."""
    if levels is not None:
        return float(levels["g"].min()), float(levels["g"].max())
    g = np.concatenate([t.g_target for t in tables]) if tables else np.array([])
    g = g[g > 0]
    return (float(g.min()), float(g.max())) if g.size else None


def _validity(tables) -> dict:
    if not tables:
        return {}
    g = np.concatenate([t.g_target for t in tables])
    t = np.concatenate([t.t for t in tables])
    out = {"g_min": float(g[g > 0].min()) if np.any(g > 0) else 0.0, "g_max": float(g.max()),
           "t_min": float(t.min()), "t_max": float(t.max())}
    temp_parts = [t.temperature for t in tables if t.temperature is not None]
    if temp_parts:
        temps = np.concatenate(temp_parts)
        out.update(temperature_min=float(temps.min()), temperature_max=float(temps.max()))
    return out
