"""lmfit fits of the G-dependent laws of the PCM model, with the model order chosen by AIC/BIC.

The residuals evaluate the plain law functions of :mod:`devicelab.devices.laws` (the same ones the model
samples from), so each law is written once.

- :func:`fit_polynomial_law`: sigma_prog(G) = sum_k c_k (G/g_max)^k, degree chosen by the criterion;
- :func:`fit_drift_law`: drift-exponent mean or spread, the family (log-linear with its clip variants, linear
  in G, quadratic in G, monotone PCHIP with 3.. knots) chosen by the criterion;
  :func:`fit_loglinear_clip` restricts it to y(G) = clip(a0 + a1 ln(G/g_max), lo, hi);
- :func:`fit_power_law_clip`: Q(G) = min(c / (G/g_max)^exponent, q_max) (relative read noise), with or
  without the cap.

Each takes per-level estimates ``y`` with standard errors ``yerr`` and returns a
:class:`~devicelab.devices.fitbase.PartFit`. Levels must be G > 0 S.
"""

from __future__ import annotations

import dataclasses
import warnings

import lmfit
import numpy as np

from devicelab.devices import laws
from devicelab.devices.constants import DRIFT_FAMILIES, G_REL_FLOOR
from devicelab.devices.fitbase import (
    ParamEstimate,
    PartFit,
    check_criterion,
    choose,
    known_scale_criteria,
    part_from_lmfit,
    warn_quality,
)
from devicelab.devices.laws import LinearClip, LogLinearClip, PchipLaw, PowerLawClip, QuadraticClip
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
    return (laws.polynomial(x, coeffs) - y) / yerr


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
def _loglin_residual(params, g_rel, y, yerr):
    p = params.valuesdict()
    return (laws.loglinear_clip(g_rel, p["a0"], p["a1"], p.get("lo", -np.inf), p.get("hi", np.inf)) - y) / yerr


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
    g_rel = np.exp(lnx)
    a1, a0 = np.polyfit(lnx, y, 1, w=w)
    out = [("no clip", _minimize(_loglin_residual, _loglin_params(a0, a1), (g_rel, y, yerr)))]
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
            res = _minimize(_loglin_residual, _loglin_params(b0, b1, lo, hi, floor), (g_rel, y, yerr))
            if _clips_rest_on_enough_levels(res.params, lnx) and (best is None or res.chisqr < best.chisqr):
                best = res
        if best is not None:
            out.append((variant, best))
    return out


def _fixed_clip(floor):
    return -np.inf if floor is None else float(floor)


def _linear_candidates(g_rel, y, yerr, floor):
    """Linear and quadratic laws in x = G/g_max, bounded below by ``floor`` (no fitted clips)."""
    lo = _fixed_clip(floor)
    out = []
    for label, degree in (("linear", 1), ("quadratic", 2)):
        if g_rel.size < degree + 2:  # keep a residual degree of freedom
            continue
        start = np.polyfit(g_rel, y, degree, w=1.0 / yerr)[::-1]
        params = lmfit.Parameters()
        for k, c in enumerate(start):
            params.add(f"b{k}", value=float(c))

        def residual(pars, g_rel, y, yerr, degree=degree):
            b = [pars[f"b{k}"].value for k in range(degree + 1)]
            fn = laws.linear_clip if degree == 1 else laws.quadratic_clip
            return (fn(g_rel, *b, lo=lo) - y) / yerr

        out.append((label, _minimize(residual, params, (g_rel, y, yerr))))
    return out


def _pchip_knots(lnx, m):
    """Indices of ``m`` knots spread evenly over the sorted levels (always the first and the last)."""
    return np.unique(np.round(np.linspace(0, lnx.size - 1, m)).astype(int))


def _pchip_values(p: dict, m: int, sign: float) -> np.ndarray:
    """Knot values y_k = y0 + sign * (d_1 + ... + d_k) of a monotone PCHIP candidate."""
    return p["y0"] + sign * np.concatenate([[0.0], np.cumsum([p[f"d{k}"] for k in range(1, m)])])


def _pchip_residual(params, g_rel, y, yerr, knots, sign, lo):
    values = _pchip_values(params.valuesdict(), len(knots), sign)
    if not np.all(np.isfinite(values)):  # a diverged trial step: reject it
        return np.full(y.shape, 1e10)
    return (laws.pchip(g_rel, knots, values, lo=lo) - y) / yerr


def _pchip_candidates(g_rel, y, yerr, floor):
    """Monotone PCHIP laws with 3 .. n-2 knots at measured levels, rising and falling; best per knot count.

    Monotone knots are parametrized as y0 and non-negative steps d_k (y_k = y_{k-1} +- d_k), so the PCHIP
    between them is monotone and never overshoots. The steps' bounds are handled natively by a trust-region
    solver (least_squares), which also gives the covariance.
    """
    order = np.argsort(g_rel)
    g_rel, y, yerr = g_rel[order], y[order], yerr[order]
    lnx = np.log(np.maximum(g_rel, G_REL_FLOOR))
    lo = _fixed_clip(floor)
    out = []
    for m in range(3, g_rel.size - 1):
        idx = _pchip_knots(lnx, m)
        if idx.size != m or np.any(np.diff(lnx[idx]) <= 0):
            continue
        knots = tuple(np.exp(lnx[idx]))
        best = None
        for sign in (1.0, -1.0):
            start = np.interp(lnx[idx], lnx, y)
            start = np.maximum.accumulate(start) if sign > 0 else np.minimum.accumulate(start)
            params = lmfit.Parameters()
            params.add("y0", value=float(start[0]))
            for k in range(1, m):
                params.add(f"d{k}", value=float(sign * (start[k] - start[k - 1])) + 1e-3 * float(np.ptp(y)) + 1e-12,
                           min=0.0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                res = lmfit.minimize(_pchip_residual, params, args=(g_rel, y, yerr, knots, sign, lo),
                                     method="least_squares")
            res.pchip = (knots, sign)
            if best is None or res.chisqr < best.chisqr:
                best = res
        out.append((f"pchip {m} knots", best))
    return out


def _law_of(label: str, result, g_rel, floor):
    """The law object of a fitted candidate (``label`` as in the candidate table)."""
    p = result.params.valuesdict()
    lo = _fixed_clip(floor)
    span = {"g_rel_min": float(np.min(g_rel)), "g_rel_max": float(np.max(g_rel))}
    if label.startswith("loglinear"):
        return LogLinearClip(a0=p["a0"], a1=p["a1"], lo=p.get("lo", -np.inf), hi=p.get("hi", np.inf))
    if label == "linear":
        return LinearClip(b0=p["b0"], b1=p["b1"], lo=lo, **span)
    if label == "quadratic":
        return QuadraticClip(b0=p["b0"], b1=p["b1"], b2=p["b2"], lo=lo, **span)
    knots, sign = result.pchip
    return PchipLaw(g_rel_knots=knots, y_knots=tuple(_pchip_values(p, len(knots), sign)), lo=lo)


_FORMULAS = {
    "loglinear": "clip(a0 + a1 ln(G/g_max), lo, hi)",
    "linear": "max(b0 + b1 x, lo), x = G/g_max held within the fitted range",
    "quadratic": "max(b0 + b1 x + b2 x^2, lo), x = G/g_max held within the fitted range",
    "pchip": "monotone PCHIP in ln(G/g_max) through knots (x_k, y_k), flat outside them",
}


def fit_drift_law(g, y, yerr, g_max: float, *, families=DRIFT_FAMILIES, criterion: str = "bic",
                  name: str = "nu_mean", floor: float | None = 0.0) -> PartFit:
    """Fit a drift-exponent law y(G) with the family and its variant chosen by ``criterion`` (AIC or BIC).

    ``g`` in S; ``y`` dimensionless per-level estimates (e.g. mean drift exponent) with standard errors
    ``yerr``. ``families`` lists the candidate families among ``"loglinear"`` (clip variants none, lower,
    upper, both; a clip is only tried resting on >= MIN_CLIPPED levels), ``"linear"``, ``"quadratic"``
    (in x = G/g_max) and ``"pchip"`` (monotone, 3 .. n_levels - 2 knots). The per-level errors are
    standard errors, so the criteria are the known-scale forms chi2 + 2k (AIC) and chi2 + k ln n (BIC)
    (:func:`~devicelab.devices.fitbase.known_scale_criteria`). Every candidate and its criterion are in
    ``candidates``; the chosen law object is :attr:`PartFit.law`. Values below ``floor``
    (0 for quantities that cannot be negative) are clipped: loglinear clips are bounded below by it, the
    other families are held at it. Unused loglinear clips are reported as lo = -inf / hi = +inf.
    """
    check_criterion(criterion)
    families = tuple(families)
    unknown = [f for f in families if f not in DRIFT_FAMILIES]
    if unknown or not families:
        raise ConfigError(f"{name}: drift-law families must be among {', '.join(DRIFT_FAMILIES)}, got {families}")
    g, y, yerr = _check_points(g, y, yerr, 2, name)
    g_rel = g / g_max
    fits = []
    if "loglinear" in families:
        lnx = np.log(np.maximum(g_rel, G_REL_FLOOR))
        fits += [(f"loglinear: {label}", res) for label, res in _loglin_candidates(lnx, y, yerr, floor)]
    if "linear" in families or "quadratic" in families:
        fits += [(label, res) for label, res in _linear_candidates(g_rel, y, yerr, floor) if label in families]
    if "pchip" in families:
        fits += _pchip_candidates(g_rel, y, yerr, floor)
    if not fits:
        raise ConfigError(f"{name}: {g.size} levels are too few for the families {families}")
    best, table = choose(fits, criterion, known_scale=True)
    label, result = fits[best]
    family = label.split(":")[0].split(" ")[0]
    part = part_from_lmfit(
        name, f"{name}(G) = {_FORMULAS[family]}  [{label}]", result,
        data={"g": g, "y": y, "yerr": yerr, "g_max": np.array(g_max)}, candidates=table, criterion=criterion,
        warn=False,
    )
    law = _law_of(label, result, g_rel, floor)
    params = {k: v for k, v in part.params.items() if k != "gap"}
    if family == "pchip":
        params = _pchip_knot_params(result, law)
    aic, bic = known_scale_criteria(result)  # the forms the candidates were compared with
    part = dataclasses.replace(part, params=params, law=law, aic=aic, bic=bic)
    # a PCHIP step d_k = 0 is a flat stretch (a shape), not a parameter stuck on a bound
    if family != "pchip" or not part.success:
        warn_quality(part)
    return part


def _pchip_knot_params(result, law: PchipLaw) -> dict:
    """Knot positions x_k (fixed) and values y_k with standard errors propagated from the steps' covariance."""
    m = len(law.y_knots)
    sign = result.pchip[1]
    transform = np.tril(np.ones((m, m))) * sign
    transform[:, 0] = 1.0  # y_k = y0 + sign * (d_1 + ... + d_k)
    names = ["y0"] + [f"d{k}" for k in range(1, m)]
    covar = getattr(result, "covar", None)
    if covar is not None and list(result.var_names) == names:
        errs = np.sqrt(np.maximum(np.diag(transform @ covar @ transform.T), 0.0))
    else:
        errs = np.full(m, np.nan)
    params = {f"x{k}": ParamEstimate(float(x), vary=False) for k, x in enumerate(law.g_rel_knots)}
    params.update({f"y{k}": ParamEstimate(float(v), float(e)) for k, (v, e) in enumerate(zip(law.y_knots, errs))})
    return params


def fit_loglinear_clip(g, y, yerr, g_max: float, *, criterion: str = "bic", name: str = "nu_mean",
                       floor: float | None = 0.0) -> PartFit:
    """Fit y(G) = clip(a0 + a1 ln(G/g_max), lo, hi) with the clip variant chosen by ``criterion``.

    :func:`fit_drift_law` restricted to the ``"loglinear"`` family (the aihwkit form).
    """
    return fit_drift_law(g, y, yerr, g_max, families=("loglinear",), criterion=criterion, name=name, floor=floor)


def drift_law(part: PartFit) -> tuple[object, dict]:
    """The law object of a :func:`fit_drift_law` result and the standard errors of its fitted parameters."""
    if part.law is None:
        raise ConfigError(f"{part.name}: this fit carries no drift law")
    errs = {k: p.stderr for k, p in part.params.items()}
    if isinstance(part.law, LogLinearClip):
        errs = {k: errs.get(k, float("nan")) for k in ("a0", "a1", "lo", "hi")}
    elif isinstance(part.law, PchipLaw):
        m = len(part.law.y_knots)
        errs = {"y_knots": [errs.get(f"y{k}", float("nan")) for k in range(m)]}
    return part.law, errs


def loglinear_law(part: PartFit) -> tuple[LogLinearClip, dict]:
    """The :class:`LogLinearClip` of a :func:`fit_loglinear_clip` result and its standard errors."""
    law, errs = drift_law(part)
    if not isinstance(law, LogLinearClip):
        raise ConfigError(f"{part.name}: the chosen drift law is {law.law!r}, not loglinear")
    return law, errs


# --------------------------------------------------------------------------- capped power law (Q_s)
def _power_residual(params, x, y, yerr):
    p = params.valuesdict()
    return (laws.power_law_clip(x, p["c"], p["exponent"], p.get("q_max", np.inf)) - y) / yerr


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
