"""Programming-noise and read I-V fits.

Programming noise: reads of freshly programmed devices at time t (ideally t0) spread around G_target by
sigma_prog (programming), the read noise at t and, for t > t0, the device-to-device spread of drift. With
the read noise s (relative) and drift factor D = (t/t0)^-nu (nu ~ N(mu_nu, sigma_nu), log-normal moments) of a
provisional model, Var[G] = (G_t^2 + sigma_prog^2) E[D^2] (1 + s^2) - G_t^2 E[D]^2, which is solved for
sigma_prog^2 per level before the polynomial sigma_prog(G) is fitted (degree by AIC/BIC).

Read I-V: I = G V0 sinh(V/V0) per device, with V0 shared by all devices and G per device projected out
(linear given V0), fitted with lmfit on relative current residuals.
"""

from __future__ import annotations

import math
import warnings

import lmfit
import numpy as np
from scipy import optimize

from devicelab.devices.fit_laws import fit_polynomial_law
from devicelab.devices.fitbase import PartFit, part_from_lmfit
from devicelab.devices.pcm import PCMModel
from devicelab.errors import ConfigError, FitQualityWarning
from devicelab.measurements import IVTable, MeasurementTable


def sigma_prog_levels(table: MeasurementTable, noise_model: PCMModel | None = None,
                      min_devices: int = 5) -> dict[str, np.ndarray]:
    """Per-level programming spread sigma_prog (S) with standard error, from one-read-per-device data.

    ``noise_model`` supplies the read noise and drift laws to remove (None: the raw spread is used).
    Levels with G_target <= 0 S, fewer than ``min_devices`` reads, or reads clipped at 0 S are skipped,
    because clipping truncates the spread. Returns arrays ``g``, ``sigma``, ``sigma_err``, ``n``.
    """
    out: dict[str, list] = {k: [] for k in ("g", "sigma", "sigma_err", "n")}
    levels, idx = np.unique(table.g_target, return_inverse=True)
    for k, level in enumerate(levels):
        sel = idx == k
        g, t = table.g[sel], table.t[sel]
        if level <= 0 or g.size < min_devices or np.any(g <= 0):
            continue
        mean, var = float(g.mean()), float(g.var(ddof=1))
        se_var = var * math.sqrt(2.0 / (g.size - 1))
        sigma = _solve_sigma(mean, var, t, noise_model)
        spread = (_solve_sigma(mean, var + se_var, t, noise_model)
                  - _solve_sigma(mean, max(var - se_var, 0.0), t, noise_model)) / 2
        sigma_err = max(spread, 1e-300)
        out["g"].append(level)
        out["sigma"].append(sigma)
        out["sigma_err"].append(sigma_err)
        out["n"].append(g.size)
    return {k: np.asarray(v, dtype=float) for k, v in out.items()}


_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(24)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def _solve_sigma(mean: float, var: float, t: np.ndarray, noise_model: PCMModel | None) -> float:
    """sigma_prog (S) that explains the spread ``var`` (S^2) of reads with mean ``mean`` (S) at times ``t``.

    Solves Var[G] = E[G_prog^2 (1 + s(G_prog, t)^2)] E[D^2] - (G_t E[D])^2 for sigma_prog, with
    G_prog ~ N(G_t, sigma_prog) integrated by Gauss-Hermite quadrature (s depends on G_prog) and
    G_t = mean / E[D]. Returns 0 when read noise and drift alone explain the spread.
    """
    if noise_model is None:
        return math.sqrt(var)
    mu, sd = noise_model.nu_stats(mean)
    t, count = np.unique(t, return_counts=True)
    frac = count / count.sum()
    log_ratio = np.log(np.maximum(t / noise_model.t0, 1.0))
    d1 = float(np.sum(frac * np.exp(-mu * log_ratio + 0.5 * (sd * log_ratio) ** 2)))
    d2 = float(np.sum(frac * np.exp(-2 * mu * log_ratio + 2 * (sd * log_ratio) ** 2)))
    g_t = mean / d1
    target = (var + mean * mean) / d2

    def excess(sigma):
        g_prog = np.maximum(g_t + sigma * _NODES, 0.0)
        s2 = noise_model.read_noise_sigma(g_prog[:, None], t[None, :]) ** 2 @ frac
        return float(np.sum(_WEIGHTS * g_prog**2 * (1.0 + s2))) - target

    if excess(0.0) >= 0:
        return 0.0
    hi = math.sqrt(max(var, 1e-300))
    while excess(hi) < 0:
        hi *= 2
    return optimize.brentq(excess, 0.0, hi, xtol=1e-6 * hi)


def fit_sigma_prog(levels: dict, g_max: float, *, max_degree: int = 4, criterion: str = "bic") -> PartFit:
    """Fit sigma_prog(G) = sum_k c_k (G/g_max)^k (S) to :func:`sigma_prog_levels` output; degree by criterion."""
    return fit_polynomial_law(levels["g"], levels["sigma"], levels["sigma_err"], g_max,
                              max_degree=max_degree, criterion=criterion, name="sigma_prog", units="S")


def _iv_projection(v0: float, v, i, idx, n_dev, weight):
    """Per-device least-squares G (S) for a given V0 (V) and the weighted current residuals."""
    shape = v0 * np.sinh(v / v0)
    g = np.bincount(idx, weight**2 * shape * i, n_dev) / np.bincount(idx, weight**2 * shape * shape, n_dev)
    return g, (g[idx] * shape - i) * weight


def fit_read_iv(table: IVTable, *, v0_start: float | None = None,
                v0_bounds: tuple[float, float] = (1e-3, 100.0)) -> PartFit:
    """Fit the read nonlinearity V0 (V) of I = G V0 sinh(V/V0) to I-V sweeps (V in V, I in A).

    V0 is shared by all devices, G (S) is per device (linear given V0, projected out). Residuals are
    relative to each device's mean |I| so devices of all conductances count alike. Needs voltages large
    enough to bend the curve: for |V| << V0 the data only bound V0 from below (a bound warning follows).
    The result's ``data`` holds ``g_device`` (S).
    """
    v, i = np.asarray(table.v, dtype=float), np.asarray(table.i, dtype=float)
    if v.size < 3:
        raise ConfigError(f"{table.source}: an I-V fit needs at least 3 points")
    codes, idx = np.unique(table.device, return_inverse=True)
    scale = np.bincount(idx, np.abs(i), codes.size) / np.bincount(idx, minlength=codes.size)
    if np.any(scale <= 0):
        raise ConfigError(f"{table.source}: a device has zero current at every voltage")
    weight = 1.0 / scale[idx]
    vmax = float(np.max(np.abs(v)))
    if v0_start is None:
        grid = np.geomspace(max(v0_bounds[0], vmax / 20), min(v0_bounds[1], vmax * 20), 40)
        costs = [np.sum(_iv_projection(g, v, i, idx, codes.size, weight)[1] ** 2) for g in grid]
        v0_start = float(grid[int(np.argmin(costs))])

    def residual(params):
        return _iv_projection(params["V0"].value, v, i, idx, codes.size, weight)[1]

    params = lmfit.Parameters()
    params.add("V0", value=v0_start, min=v0_bounds[0], max=v0_bounds[1])
    result = lmfit.minimize(residual, params, method="leastsq")
    result.nfree = max(result.ndata - result.nvarys - codes.size, 1)  # per-device G were projected out
    result.redchi = result.chisqr / result.nfree
    g_dev, _ = _iv_projection(result.params["V0"].value, v, i, idx, codes.size, weight)
    v0, v0_err = result.params["V0"].value, result.params["V0"].stderr
    if v0_err is None or not np.isfinite(v0_err) or v0_err > 0.5 * v0:
        warnings.warn(f"{table.source}: V0 = {v0:.3g} V is not constrained by the I-V data (the curve hardly bends "
                      f"within |V| <= {vmax:g} V); sweep to higher voltages or treat the devices as ohmic (v0=None)",
                      FitQualityWarning, stacklevel=2)
    return part_from_lmfit("v0", "I = G V0 sinh(V/V0), V0 shared, G per device", result, {"V0": "V"},
                           data={"v": v, "i": i, "device": idx, "g_device": g_dev})
