"""Drift fits: per-device drift exponents, their G-dependent statistics, and Arrhenius acceleration.

Per device (vectorized over all devices at once) the model G(t) = G_prog max(t_eff/t0, 1)^-nu with
multiplicative read noise of relative size s(t) = sqrt(ln((t_eff + t_read) / (2 t_read))) * Q_s is fitted as a
quasi-likelihood GLM with log link: log E[G] = log G_prog - nu ln max(t_eff/t0, 1), Var[G] ∝ (s E[G])^2.
It is solved by iteratively reweighted least squares whose first step is the plain weighted regression of
log G on log t; the iterations remove the bias that large relative read noise puts into log-space fits. The
Pearson residuals also estimate Q_s per level ("read-to-read spread").

The population of nu per level is |N(mu_nu, sigma_nu)| (folded normal); :func:`nu_level_stats` removes the
per-device estimation noise and inverts the folded-normal moments before the laws are fitted with lmfit.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import lmfit
import numpy as np
from scipy import optimize, special

from devicelab.devices.constants import K_BOLTZMANN_EV, T0, T_READ, T_REF_TEMPERATURE
from devicelab.devices.fitbase import PartFit, part_from_lmfit, spread_from_variance
from devicelab.errors import ConfigError, FitQualityWarning
from devicelab.measurements import MeasurementTable

#: Floor of ln((t + t_read)/(2 t_read)) used as read-noise variance weight (reads at t ~ 0 are noise-free
#: in the model; the floor keeps their weight finite).
MIN_LOG_TERM = 1.0


@dataclass(frozen=True)
class DeviceDrift:
    """Per-device drift fit results (arrays indexed by device, in the order of :attr:`device`).

    Attributes
    ----------
    device : ndarray of int
        Device codes of the table.
    g_target : ndarray
        Target conductance per device, S.
    nu, nu_stderr : ndarray
        Drift exponent and its standard error (dimensionless); NaN when the device's reads do not span t0.
    g_prog, g_prog_stderr : ndarray
        Conductance at t0 (intercept), S, and its standard error.
    q2 : ndarray
        Per-device Pearson estimate of Q_s^2 (mean squared relative residual per unit log term).
    n_reads : ndarray of int
        Reads used per device.
    """

    device: np.ndarray
    g_target: np.ndarray
    nu: np.ndarray
    nu_stderr: np.ndarray
    g_prog: np.ndarray
    g_prog_stderr: np.ndarray
    q2: np.ndarray
    n_reads: np.ndarray


def acceleration(temperature, activation_energy: float, t_ref_temperature: float) -> np.ndarray:
    """Arrhenius time-acceleration factor exp(Ea/k_B (1/T_ref - 1/T)) (dimensionless); T in K, Ea in eV."""
    temperature = np.asarray(temperature, dtype=float)
    return np.exp(activation_energy / K_BOLTZMANN_EV * (1.0 / t_ref_temperature - 1.0 / temperature))


def _wls(idx, n, w, x, z, design):
    """Per-device weighted least squares of z on (1, x): intercepts and slopes (vectorized with bincount).

    ``design`` = (sw, swx, det, ok) from :func:`_design`, which does not change between iterations.
    """
    sw, swx, det, ok = design
    swz = np.bincount(idx, w * z, n)
    swxz = np.bincount(idx, w * x * z, n)
    slope = np.where(ok, (sw * swxz - swx * swz) / np.where(ok, det, 1.0), 0.0)
    return (swz - slope * swx) / sw, slope


def _design(idx, n, w, x):
    sw = np.bincount(idx, w, n)
    swx = np.bincount(idx, w * x, n)
    swxx = np.bincount(idx, w * x * x, n)
    det = sw * swxx - swx * swx
    ok = det > 1e-12 * np.maximum(sw * swxx, 1e-300)  # reads span t0: the slope is determined
    return sw, swx, swxx, det, ok


def fit_device_drift(table: MeasurementTable, *, t0: float = T0, t_read: float = T_READ,
                     activation_energy: float | None = None, t_ref_temperature: float = T_REF_TEMPERATURE,
                     max_iter: int = 30, rtol: float = 1e-9, bias_correct: bool = True) -> DeviceDrift:
    """Fit G_prog and nu for every device of a drift (or bake) table at once; see the module docstring.

    Times in s, conductances in S, temperatures in K, ``activation_energy`` in eV (None: no temperature
    acceleration; the table's temperature column is then ignored). Reads with G <= 0 S are values clipped
    at 0 S: such devices (dead, or clipped at programming) get nu = NaN and are excluded from the statistics,
    as are devices whose reads all lie before t0.
    """
    if t0 <= 0 or t_read <= 0:
        raise ConfigError("t0 and t_read must be > 0 s")
    codes, idx = np.unique(table.device, return_inverse=True)
    n = codes.size
    t = table.t
    if activation_energy is not None:
        if table.temperature is None:
            raise ConfigError(f"{table.source}: an activation energy needs a temperature column")
        t = t * acceleration(table.temperature, activation_energy, t_ref_temperature)
    x = np.log(np.maximum(t / t0, 1.0))
    w = 1.0 / np.maximum(np.log((t + t_read) / (2.0 * t_read)), MIN_LOG_TERM)
    y = table.g
    n_reads = np.bincount(idx, minlength=n)
    g_mean = np.bincount(idx, y, n) / n_reads
    # start from the constant model at the device mean, then Fisher scoring for the log link
    b0 = np.log(np.maximum(g_mean, np.finfo(float).tiny))
    b1 = np.zeros(n)
    sw, swx, swxx, det, ok = _design(idx, n, w, x)
    design = (sw, swx, det, ok)
    for _ in range(max_iter):
        eta = b0[idx] + b1[idx] * x
        mu = np.exp(eta)
        new_b0, new_b1 = _wls(idx, n, w, x, eta + (y - mu) / mu, design)
        change = np.max(np.abs(new_b0 - b0) + np.abs(new_b1 - b1))
        b0, b1 = new_b0, new_b1
        if change < rtol:
            break
    mu = np.exp(b0[idx] + b1[idx] * x)
    pearson = w * ((y - mu) / mu) ** 2
    dof = n_reads - np.where(ok, 2, 1)
    q2 = np.where(dof > 0, np.bincount(idx, pearson, n) / np.maximum(dof, 1), np.nan)
    var_b1 = np.where(ok, sw / np.where(ok, det, 1.0), np.nan)
    var_b0 = np.where(ok, swxx / np.where(ok, det, 1.0), 1.0 / sw)
    cov_b01 = np.where(ok, -swx / np.where(ok, det, 1.0), 0.0)
    if bias_correct:
        # second-order (Cordeiro-McCullagh) bias of the log-link fit: the coefficients are biased by the
        # weighted regression of -Var[eta_hat]/2 on the design; remove it (matters for noisy, extrapolated
        # fits: without it ln G_prog is biased by -0.8 % at Q_s = 0.05, checked by simulation)
        var_eta = np.nan_to_num(q2)[idx] * (var_b0[idx] + 2 * cov_b01[idx] * x + np.nan_to_num(var_b1)[idx] * x * x)
        c0, c1 = _wls(idx, n, w, x, 0.5 * var_eta, design)
        b0, b1 = b0 + c0, b1 + c1
    g_target = np.bincount(idx, table.g_target, n) / n_reads
    g_prog = np.exp(b0)
    ok &= np.bincount(idx, y <= 0.0, n) == 0
    return DeviceDrift(
        device=codes, g_target=g_target,
        nu=np.where(ok, -b1, np.nan), nu_stderr=np.sqrt(q2 * var_b1),
        g_prog=g_prog, g_prog_stderr=g_prog * np.sqrt(q2 * var_b0),
        q2=q2, n_reads=n_reads,
    )


def _folded_normal_invert(mean: float, var: float) -> tuple[float, float]:
    """(mu, sigma) of N(mu, sigma) whose absolute value has the given mean and variance (moment inversion)."""
    second = var + mean * mean
    if mean <= 0 or second <= 0:
        return 0.0, math.sqrt(max(second, 0.0))
    ratio = mean * mean / second

    def folded_ratio(theta):
        f = math.sqrt(2 / math.pi) * math.exp(-theta * theta / 2) + theta * (1 - 2 * special.ndtr(-theta))
        return f * f / (1 + theta * theta)

    if ratio <= 2 / math.pi:  # the half-normal is the most spread a folded normal can be
        return 0.0, math.sqrt(second)
    if ratio >= folded_ratio(40.0):
        return mean, math.sqrt(max(var, 0.0))
    theta = optimize.brentq(lambda th: folded_ratio(th) - ratio, 0.0, 40.0, xtol=1e-12)
    sigma = math.sqrt(second / (1 + theta * theta))
    return theta * sigma, sigma


def nu_level_stats(drift: DeviceDrift, min_devices: int = 5) -> dict[str, np.ndarray]:
    """Per-level mean and spread of nu (population |N(mu, sigma)|), with standard errors.

    Returns arrays ``g`` (S), ``mu``, ``mu_err``, ``sigma``, ``sigma_err``, ``n`` (devices), ``q2`` (pooled
    Pearson Q_s^2 per level) and ``q2_err``. Levels with fewer than ``min_devices`` fitted devices are skipped.
    """
    ok = np.isfinite(drift.nu) & np.isfinite(drift.nu_stderr)
    out: dict[str, list] = {k: [] for k in ("g", "mu", "mu_err", "sigma", "sigma_err", "n", "q2", "q2_err")}
    raw_means: list[float] = []
    for level in np.unique(drift.g_target[ok]):
        sel = ok & (drift.g_target == level)
        n = int(sel.sum())
        if n < min_devices or level <= 0:
            continue
        nu = drift.nu[sel]
        total_var = float(np.var(nu, ddof=1))
        noise_var = float(np.mean(drift.nu_stderr[sel] ** 2))
        raw_means.append(float(nu.mean()))
        mu, sigma = _folded_normal_invert(raw_means[-1], max(total_var - noise_var, 0.0))
        _, sigma_err = spread_from_variance(sigma * sigma, total_var * math.sqrt(2.0 / (n - 1)))
        q2 = drift.q2[sel]
        out["g"].append(level)
        out["mu"].append(mu)
        out["mu_err"].append(math.sqrt(total_var / n))
        out["sigma"].append(sigma)
        out["sigma_err"].append(sigma_err)
        out["n"].append(n)
        out["q2"].append(float(np.mean(q2)))
        out["q2_err"].append(float(np.std(q2, ddof=1) / math.sqrt(n)))
    negative = [f"{g:.3g} S" for g, m in zip(out["g"], raw_means) if m < 0]
    if negative:
        warnings.warn(f"mean drift exponent is negative (conductance grows with time) at {len(negative)} level(s) "
                      f"({', '.join(negative[:5])}); the PCM drift law G ~ t^-nu with nu >= 0 cannot represent that "
                      f"and uses mu_nu = 0 there", FitQualityWarning, stacklevel=2)
    return {k: np.asarray(v, dtype=float) for k, v in out.items()}


def fit_activation_energy(table: MeasurementTable, *, t0: float = T0, t_read: float = T_READ,
                          t_ref_temperature: float = T_REF_TEMPERATURE, ea_start: float = 0.3,
                          ea_bounds: tuple[float, float] = (0.0, 3.0)) -> PartFit:
    """Fit the Arrhenius activation energy of drift (eV) from bake data at two or more temperatures.

    Devices of one target level share the mean of log G_prog whatever their bake temperature; with a wrong
    Ea the fitted per-device intercepts ln G_prog shift with temperature. For each trial Ea (in lmfit) every
    device is refitted (:func:`fit_device_drift`, variable projection) and the residuals are the intercepts'
    deviations from their level mean, in units of the level's spread. Each device must stay at one
    temperature (K) from programming on.
    """
    if table.temperature is None:
        raise ConfigError(f"{table.source}: bake data need a temperature column")
    codes, idx = np.unique(table.device, return_inverse=True)
    t_min = np.full(codes.size, np.inf)
    t_max = np.full(codes.size, -np.inf)
    np.minimum.at(t_min, idx, table.temperature)
    np.maximum.at(t_max, idx, table.temperature)
    if np.any(t_max - t_min > 1e-6 * t_max):
        bad = codes[np.argmax(t_max - t_min)]
        raise ConfigError(f"{table.source}: device {bad} is read at several temperatures; the bake fit needs "
                          f"each device held at one temperature since programming")
    temps = np.unique(np.round(t_min, 6))
    if temps.size < 2:
        raise ConfigError(f"{table.source}: the activation energy needs bake data at >= 2 temperatures, "
                          f"found {temps.size}")

    def intercepts(ea):
        drift = fit_device_drift(table, t0=t0, t_read=t_read, activation_energy=ea,
                                 t_ref_temperature=t_ref_temperature)
        return drift, np.log(drift.g_prog)

    drift0, b0 = intercepts(ea_start)
    keep = np.isfinite(drift0.nu) & np.isfinite(b0)  # dead / clipped devices carry no drift information
    # Residuals are per (level, temperature) group means: per-device residuals would let the Ea-dependent
    # estimation noise of extrapolated intercepts pull Ea towards shorter extrapolation (a bias of many sigma).
    groups, group_idx = np.unique(np.stack([drift0.g_target[keep], t_min[keep]]), axis=1, return_inverse=True)
    group_idx = group_idx.ravel()
    levels, group_level = np.unique(groups[0], return_inverse=True)
    counts = np.bincount(group_idx)
    if np.any(counts < 2):
        raise ConfigError(f"{table.source}: every (level, temperature) group needs >= 2 usable devices")

    def group_means(b):
        return np.bincount(group_idx, b) / counts

    spread = np.bincount(group_idx, (b0[keep] - group_means(b0[keep])[group_idx]) ** 2) / (counts - 1)
    se = np.sqrt(spread / counts)
    se = np.where(se > 0, se, np.max(se[se > 0], initial=1.0))
    weight = 1.0 / se**2

    def residual(params):
        mean = group_means(intercepts(params["Ea"].value)[1][keep])
        centre = np.bincount(group_level, weight * mean) / np.bincount(group_level, weight)
        return (mean - centre[group_level]) / se

    params = lmfit.Parameters()
    params.add("Ea", value=ea_start, min=ea_bounds[0], max=ea_bounds[1])
    result = lmfit.minimize(residual, params, method="leastsq")
    # the level means are profiled out: correct the degrees of freedom of the statistics
    result.nfree = max(result.ndata - result.nvarys - levels.size, 1)
    result.redchi = result.chisqr / result.nfree
    drift, b = intercepts(result.params["Ea"].value)
    return part_from_lmfit(
        "activation_energy", f"t_eff = t exp(Ea/k_B (1/{t_ref_temperature:g} K - 1/T)); level-shared ln G_prog",
        result, {"Ea": "eV"},
        data={"temperature": t_min, "g_target": drift.g_target, "ln_g_prog": b, "nu": drift.nu},
    )
