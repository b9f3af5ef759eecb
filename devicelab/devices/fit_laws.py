"""lmfit fits of the G-dependent laws of the PCM model, with the model order chosen by AIC/BIC.

- :func:`fit_polynomial_law`: sigma_prog(G) = sum_k c_k (G/g_max)^k, degree chosen by the criterion;
- :func:`fit_loglinear_clip`: y(G) = clip(a0 + a1 ln(G/g_max), lo, hi) (drift-exponent mean and spread),
  with the clip variant (none, lower, upper, both) chosen by the criterion;
- :func:`fit_power_law_clip`: Q(G) = min(c / (G/g_max)^exponent, q_max) (relative read noise), with or
  without the cap.

Each takes per-level estimates ``y`` with standard errors ``yerr`` and returns a
:class:`~devicelab.devices.fitbase.PartFit`. Levels must be G > 0 S.
"""

from __future__ import annotations

import warnings

import lmfit
import numpy as np

from devicelab.devices.fitbase import PartFit, check_criterion, choose, part_from_lmfit
from devicelab.devices.pcm import G_REL_FLOOR, LogLinearClip, PowerLawClip
from devicelab.errors import ConfigError


#: Fewest levels a clip (or cap) must rest on to be tried as a candidate model.
MIN_CLIPPED = 2


def _check_points(g, y, yerr, min_points: int, what: str):
    g, y, yerr = (np.asarray(a, dtype=float) for a in (g, y, yerr))
    if not (g.shape == y.shape == yerr.shape) or g.ndim != 1:
        raise ConfigError(f"{what}: g, y and yerr must be 1-D arrays of equal length")
    ok = np.isfinite(g) & np.isfinite(y) & np.isfinite(yerr) & (yerr > 0)
    g, y, yerr = g[ok], y[ok], yerr[ok]
    if g.size < min_points:
        raise ConfigError(f"{what}: needs at least {min_points} levels with finite estimates, got {g.size}")
    return g, y, yerr


def _minimize(residual, params, args):
    # leastsq (Levenberg-Marquardt) gives covariance-based standard errors; quiet the optimizer's own
    # RuntimeWarnings on degenerate candidates, which the information criterion then rejects.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return lmfit.minimize(residual, params, args=args, method="leastsq")


# --------------------------------------------------------------------------- polynomial (sigma_prog)
def _poly_residual(params, x, y, yerr):
    coeffs = [params[f"c{k}"].value for k in range(len(params))]
    return (np.polynomial.polynomial.polyval(x, coeffs) - y) / yerr


def fit_polynomial_law(g, y, yerr, g_max: float, *, max_degree: int = 4, criterion: str = "bic",
                       name: str = "sigma_prog", units: str = "S") -> PartFit:
    """Fit y(G) = sum_k c_k (G/g_max)^k with the degree (0..max_degree) chosen by ``criterion``.

    ``g`` are levels in S, ``y`` the per-level estimates (in ``units``, e.g. S for sigma_prog) and ``yerr``
    their standard errors. Coefficients are returned in ``units`` as ``c0``, ``c1``, ...
    The degree is limited to n_levels - 2 so that every candidate keeps a residual degree of freedom.
    """
    check_criterion(criterion)
    g, y, yerr = _check_points(g, y, yerr, 2, name)
    x = g / g_max
    scale = float(np.max(np.abs(y))) or 1.0  # fit in units of max|y| for a well-conditioned problem
    top = int(min(max_degree, g.size - 2))
    fits = []
    for degree in range(top + 1):
        start = np.polynomial.polynomial.polyfit(x, y / scale, degree, w=1.0 / (yerr / scale))
        params = lmfit.Parameters()
        for k, c in enumerate(start):
            params.add(f"c{k}", value=float(c))
        fits.append((f"degree {degree}", _minimize(_poly_residual, params, (x, y / scale, yerr / scale))))
    best, table = choose(fits, criterion)
    result = fits[best][1]
    degree = len(result.params) - 1
    formula = " + ".join(["c0"] + [f"c{k} x^{k}" if k > 1 else "c1 x" for k in range(1, degree + 1)])
    return part_from_lmfit(
        name, f"{name}(G) = {formula}, x = G/g_max", result, {k: units for k in result.params},
        data={"g": g, "y": y, "yerr": yerr, "g_max": np.array(g_max)}, candidates=table, criterion=criterion,
        scales={k: scale for k in result.params},
    )


def polynomial_coeffs(part: PartFit) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Coefficients (lowest order first) and their standard errors from a :func:`fit_polynomial_law` result."""
    keys = sorted(part.params, key=lambda k: int(k[1:]))
    return tuple(part.value(k) for k in keys), tuple(part.stderr(k) for k in keys)


# --------------------------------------------------------------------------- clipped log-linear (nu laws)
def _loglin_residual(params, lnx, y, yerr):
    p = params.valuesdict()
    line = p["a0"] + p["a1"] * lnx
    return (np.clip(line, p.get("lo", -np.inf), p.get("hi", np.inf)) - y) / yerr


def _loglin_params(a0, a1, lo=None, hi=None, floor=None):
    params = lmfit.Parameters()
    params.add("a0", value=a0)
    params.add("a1", value=a1)
    if lo is not None:
        params.add("lo", value=lo, min=-np.inf if floor is None else floor)
    if hi is not None:
        if lo is not None:
            params.add("gap", value=max(hi - lo, 1e-9), min=0.0)
            params.add("hi", expr="lo + gap")
        else:
            params.add("hi", value=hi, min=-np.inf if floor is None else floor)
    return params


def _clips_rest_on_enough_levels(params, lnx) -> bool:
    """True when every clip of a fitted candidate is active on >= MIN_CLIPPED levels (else it only absorbs noise)."""
    p = params.valuesdict()
    line = p["a0"] + p["a1"] * lnx
    return all(np.sum(side) >= MIN_CLIPPED
               for key, side in (("lo", line < p.get("lo", -np.inf)), ("hi", line > p.get("hi", np.inf)))
               if key in p)


def _loglin_candidates(lnx, y, yerr, floor):
    """Fit the four clip variants, each from several starts (one per possible breakpoint); best per variant."""
    order = np.argsort(lnx)
    lnx, y, yerr = lnx[order], y[order], yerr[order]
    w = 1.0 / yerr
    a1, a0 = np.polyfit(lnx, y, 1, w=w)
    out = [("no clip", _minimize(_loglin_residual, _loglin_params(a0, a1), (lnx, y, yerr)))]
    n = lnx.size

    def line_on(sl):
        if np.ptp(lnx[sl]) == 0:
            return 0.0, float(np.mean(y[sl]))
        with warnings.catch_warnings():  # only a starting guess: ill conditioning is harmless here
            warnings.simplefilter("ignore", np.exceptions.RankWarning)
            b1, b0 = np.polyfit(lnx[sl], y[sl], 1, w=w[sl])
        return b1, b0

    # Starting points: a clip is flat over k levels at one end of the G range (k >= MIN_CLIPPED), the rest
    # (>= 2 levels) on the sloped line; the flat value is the mean of the clipped levels. Whether a one-sided
    # clip is a lower or an upper one follows from the slope of the line next to it.
    starts: dict[str, list] = {"lower clip": [], "upper clip": [], "both clips": []}
    ks = [0] + list(range(MIN_CLIPPED, n - 1))
    for k_left in ks:
        for k_right in ks:
            if not (k_left or k_right) or n - k_left - k_right < 2:
                continue
            b1, b0 = line_on(slice(k_left, n - k_right))
            left = float(np.mean(y[:k_left])) if k_left else None
            right = float(np.mean(y[n - k_right:])) if k_right else None
            if k_left and k_right:
                starts["both clips"].append((b0, b1, *sorted((left, right))))
            else:
                flat = left if k_left else right
                lower = (k_left > 0) == (b1 > 0)  # low end of a rising line, or high end of a falling one
                starts["lower clip" if lower else "upper clip"].append(
                    (b0, b1, flat, None) if lower else (b0, b1, None, flat))
    for variant, guesses in starts.items():
        best = None
        for b0, b1, lo, hi in guesses:
            if floor is not None:
                lo = None if lo is None else max(lo, floor)
                hi = None if hi is None else max(hi, floor)
            res = _minimize(_loglin_residual, _loglin_params(b0, b1, lo, hi, floor), (lnx, y, yerr))
            if _clips_rest_on_enough_levels(res.params, lnx) and (best is None or res.chisqr < best.chisqr):
                best = res
        if best is not None:
            out.append((variant, best))
    return out


def fit_loglinear_clip(g, y, yerr, g_max: float, *, criterion: str = "bic", name: str = "nu_mean",
                       floor: float | None = 0.0) -> PartFit:
    """Fit y(G) = clip(a0 + a1 ln(G/g_max), lo, hi) with the clip variant chosen by ``criterion``.

    ``g`` in S; ``y`` dimensionless per-level estimates (e.g. mean drift exponent) with standard errors
    ``yerr``. A clip is only tried resting on >= MIN_CLIPPED levels. Clip levels are bounded below by ``floor`` (0 for quantities that cannot be negative).
    Unused clips are reported as lo = -inf / hi = +inf (not fitted).
    """
    check_criterion(criterion)
    g, y, yerr = _check_points(g, y, yerr, 2, name)
    lnx = np.log(np.maximum(g / g_max, G_REL_FLOOR))
    fits = _loglin_candidates(lnx, y, yerr, floor)
    best, table = choose(fits, criterion)
    label, result = fits[best]
    part = part_from_lmfit(
        name, f"{name}(G) = clip(a0 + a1 ln(G/g_max), lo, hi)  [{label}]", result,
        data={"g": g, "y": y, "yerr": yerr, "g_max": np.array(g_max)}, candidates=table, criterion=criterion,
    )
    params = {k: v for k, v in part.params.items() if k != "gap"}
    return _replace_params(part, params)


def loglinear_law(part: PartFit) -> tuple[LogLinearClip, dict]:
    """The :class:`LogLinearClip` of a :func:`fit_loglinear_clip` result and its standard errors."""
    p = part.params
    law = LogLinearClip(a0=p["a0"].value, a1=p["a1"].value,
                        lo=p["lo"].value if "lo" in p else -np.inf, hi=p["hi"].value if "hi" in p else np.inf)
    errs = {k: p[k].stderr if k in p else float("nan") for k in ("a0", "a1", "lo", "hi")}
    return law, errs


# --------------------------------------------------------------------------- capped power law (Q_s)
def _power_residual(params, x, y, yerr):
    p = params.valuesdict()
    return (np.minimum(p["c"] / x ** p["exponent"], p.get("q_max", np.inf)) - y) / yerr


def fit_power_law_clip(g, y, yerr, g_max: float, *, criterion: str = "bic", name: str = "read_noise") -> PartFit:
    """Fit Q(G) = min(c / (G/g_max)^exponent, q_max) with or without the cap, chosen by ``criterion``.

    ``g`` in S; ``y`` dimensionless relative noise amplitudes with standard errors ``yerr``. With a single
    level only ``c`` is fitted (exponent fixed at 0). The cap is tried only when >= MIN_CLIPPED levels can rest on it.
    """
    check_criterion(criterion)
    g, y, yerr = _check_points(g, y, yerr, 1, name)
    if np.any(y <= 0):
        raise ConfigError(f"{name}: amplitudes must be > 0")
    x = np.maximum(g / g_max, G_REL_FLOOR)
    lx, ly = np.log(x), np.log(y)
    if x.size >= 2 and np.ptp(lx) > 0:
        slope, icpt = np.polyfit(lx, ly, 1, w=y / yerr)
    else:
        slope, icpt = 0.0, float(np.mean(ly))

    def params(c, e, q_max=None):
        pars = lmfit.Parameters()
        pars.add("c", value=c, min=0.0)
        pars.add("exponent", value=e, min=-3.0, max=3.0, vary=x.size >= 2)
        if q_max is not None:
            pars.add("q_max", value=q_max, min=0.0)
        return pars

    fits = [("no cap", _minimize(_power_residual, params(float(np.exp(icpt)), float(-slope)), (x, y, yerr)))]
    if x.size >= MIN_CLIPPED + 2:
        best = None
        order = np.argsort(x)
        for k in range(MIN_CLIPPED, x.size - 1):  # the k lowest-G levels sit on the cap
            low, rest = order[:k], order[k:]
            s, i = np.polyfit(lx[rest], ly[rest], 1, w=y[rest] / yerr[rest])
            res = _minimize(_power_residual, params(float(np.exp(i)), float(-s), float(np.mean(y[low]))),
                            (x, y, yerr))
            p = res.params.valuesdict()
            capped = int(np.sum(p["c"] / x ** p["exponent"] > p["q_max"]))
            if capped >= MIN_CLIPPED and (best is None or res.chisqr < best.chisqr):
                best = res
        if best is not None:
            fits.append(("cap", best))
    best, table = choose(fits, criterion)
    label, result = fits[best]
    return part_from_lmfit(
        name, f"{name}(G) = min(c / (G/g_max)^exponent, q_max)  [{label}]", result,
        data={"g": g, "y": y, "yerr": yerr, "g_max": np.array(g_max)}, candidates=table, criterion=criterion,
    )


def power_law(part: PartFit) -> tuple[PowerLawClip, dict]:
    """The :class:`PowerLawClip` of a :func:`fit_power_law_clip` result and its standard errors."""
    p = part.params
    law = PowerLawClip(c=p["c"].value, exponent=p["exponent"].value,
                       q_max=p["q_max"].value if "q_max" in p else np.inf)
    errs = {k: p[k].stderr if k in p else float("nan") for k in ("c", "exponent", "q_max")}
    return law, errs


def _replace_params(part: PartFit, params: dict) -> PartFit:
    import dataclasses

    return dataclasses.replace(part, params=params)
