"""The G-dependent laws of the PCM model, each written once as a plain function of x = G/g_max.

Like lmfit's lineshapes, the physics is a plain function of the relative conductance ``g_rel`` (x = G/g_max,
dimensionless) and named parameters; the fits in :mod:`devicelab.devices.fit_laws` minimize residuals of
these same functions, and the small frozen law classes below only bind parameters to them (and serialize).

Drift-exponent laws (mean mu_nu and spread sigma_nu of the per-device drift exponent, dimensionless), the
families the fit chooses among by AIC/BIC:

- ``loglinear``: clip(a0 + a1 ln x, lo, hi)                          (:class:`LogLinearClip`, aihwkit's form)
- ``linear``:    clip(b0 + b1 x, lo, hi)                             (:class:`LinearClip`)
- ``quadratic``: clip(b0 + b1 x + b2 x^2, lo, hi)                    (:class:`QuadraticClip`)
- ``pchip``:     monotone cubic (PCHIP) through knots (ln x_k, y_k)  (:class:`PchipLaw`)

The linear and quadratic laws hold flat outside the range [g_rel_min, g_rel_max] they were fitted on, the
PCHIP law outside its first and last knot: none of them extrapolates beyond its data.

Other laws: sigma_prog(G) = sum_k c_k x^k (:func:`polynomial`, S) and the relative 1/f read-noise amplitude
Q_s(G) = min(c / x^exponent, q_max) (:func:`power_law_clip`, :class:`PowerLawClip`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from devicelab.devices.constants import DRIFT_FAMILIES, G_REL_FLOOR
from devicelab.errors import ConfigError


# --------------------------------------------------------------------------- plain physics functions
def polynomial(g_rel, coeffs) -> np.ndarray:
    """sum_k coeffs[k] g_rel^k (lowest order first); in the units of the coefficients."""
    return np.polynomial.polynomial.polyval(np.asarray(g_rel, dtype=float), list(coeffs))


def _floored(g_rel) -> np.ndarray:
    return np.maximum(np.abs(np.asarray(g_rel, dtype=float)), G_REL_FLOOR)


def loglinear_clip(g_rel, a0, a1, lo=-np.inf, hi=np.inf) -> np.ndarray:
    """clip(a0 + a1 ln(g_rel), lo, hi), with g_rel floored at G_REL_FLOOR; in the units of a0."""
    return np.clip(a0 + a1 * np.log(_floored(g_rel)), lo, hi)


def linear_clip(g_rel, b0, b1, lo=-np.inf, hi=np.inf, g_rel_min=0.0, g_rel_max=np.inf) -> np.ndarray:
    """clip(b0 + b1 x, lo, hi) with x = g_rel held within [g_rel_min, g_rel_max]; in the units of b0."""
    x = np.clip(np.abs(np.asarray(g_rel, dtype=float)), g_rel_min, g_rel_max)
    return np.clip(b0 + b1 * x, lo, hi)


def quadratic_clip(g_rel, b0, b1, b2, lo=-np.inf, hi=np.inf, g_rel_min=0.0, g_rel_max=np.inf) -> np.ndarray:
    """clip(b0 + b1 x + b2 x^2, lo, hi) with x = g_rel held within [g_rel_min, g_rel_max]."""
    x = np.clip(np.abs(np.asarray(g_rel, dtype=float)), g_rel_min, g_rel_max)
    return np.clip(b0 + x * (b1 + b2 * x), lo, hi)


def _pchip_slopes(h, delta) -> np.ndarray:
    """Fritsch-Carlson knot slopes of the monotone PCHIP (same rules as scipy's PchipInterpolator)."""
    if delta.size == 1:
        return np.array([delta[0], delta[0]])
    slopes = np.zeros(delta.size + 1)
    w1, w2 = 2 * h[1:] + h[:-1], h[1:] + 2 * h[:-1]
    same = delta[:-1] * delta[1:] > 0  # a local extremum (sign change or flat) gets slope 0
    with np.errstate(divide="ignore", invalid="ignore"):
        harmonic = (w1 + w2) / (w1 / delta[:-1] + w2 / delta[1:])
    slopes[1:-1] = np.where(same, harmonic, 0.0)
    for end, (h0, h1, d0, d1) in ((0, (h[0], h[1], delta[0], delta[1])), (-1, (h[-1], h[-2], delta[-1], delta[-2]))):
        d = ((2 * h0 + h1) * d0 - h0 * d1) / (h0 + h1)  # three-point end slope, kept shape-preserving
        if np.sign(d) != np.sign(d0):
            d = 0.0
        elif np.sign(d0) != np.sign(d1) and abs(d) > abs(3 * d0):
            d = 3 * d0
        slopes[end] = d
    return slopes


def pchip(g_rel, g_rel_knots, y_knots, lo=-np.inf, hi=np.inf) -> np.ndarray:
    """Monotone piecewise-cubic Hermite (PCHIP) interpolation in ln(g_rel) through the knots, flat outside them.

    PCHIP (Fritsch-Carlson, as scipy's ``PchipInterpolator``) keeps the shape of the knot values: between
    monotone knots it is monotone and it never overshoots them. ``g_rel_knots`` must be increasing and > 0.
    """
    xk = np.log(np.asarray(g_rel_knots, dtype=float))
    yk = np.asarray(y_knots, dtype=float)
    x = np.clip(np.log(_floored(g_rel)), xk[0], xk[-1])
    if xk.size == 1:
        return np.clip(np.full(np.shape(x), yk[0]), lo, hi)
    h = np.diff(xk)
    slopes = _pchip_slopes(h, np.diff(yk) / h)
    i = np.clip(np.searchsorted(xk, x, side="right") - 1, 0, xk.size - 2)
    t = (x - xk[i]) / h[i]
    y = (yk[i] * (1 + 2 * t) * (1 - t) ** 2 + h[i] * slopes[i] * t * (1 - t) ** 2
         + yk[i + 1] * t * t * (3 - 2 * t) + h[i] * slopes[i + 1] * t * t * (t - 1))
    return np.clip(y, lo, hi)


def power_law_clip(g_rel, c, exponent, q_max=np.inf) -> np.ndarray:
    """min(c / g_rel^exponent, q_max), with g_rel floored at G_REL_FLOOR (relative read noise, dimensionless)."""
    return np.minimum(c / _floored(g_rel) ** exponent, q_max)


# --------------------------------------------------------------------------- law objects (bound parameters)
class _Law:
    """Shared serialization of the frozen law dataclasses: ``to_dict`` names the family under ``law``."""

    law = ""

    def to_dict(self) -> dict:
        """Plain-dict form: ``{"law": family, <parameter>: value, ...}`` (tuples become lists)."""
        out = {"law": self.law}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = [float(v) for v in value] if isinstance(value, tuple) else float(value)
        return out


def _check_clip(name, lo, hi):
    if not lo <= hi:
        raise ConfigError(f"{name}: lo={lo} must not exceed hi={hi}")


@dataclass(frozen=True)
class LogLinearClip(_Law):
    """y(G) = clip(a0 + a1 ln(G/g_max), lo, hi): the G dependence of the drift-exponent mean and spread.

    ``a0``, ``lo``, ``hi`` are in the units of y (dimensionless for nu); ``a1`` per natural-log unit.
    """

    a0: float
    a1: float
    lo: float = 0.0
    hi: float = np.inf
    law = "loglinear"

    def __post_init__(self):
        _check_clip("LogLinearClip", self.lo, self.hi)

    def __call__(self, g_rel) -> np.ndarray:
        """Evaluate at relative conductance ``g_rel`` = G/g_max (floored at G_REL_FLOOR)."""
        return loglinear_clip(g_rel, self.a0, self.a1, self.lo, self.hi)


@dataclass(frozen=True)
class LinearClip(_Law):
    """y(G) = clip(b0 + b1 x, lo, hi), x = G/g_max held within [g_rel_min, g_rel_max] (the fitted range)."""

    b0: float
    b1: float
    lo: float = -np.inf
    hi: float = np.inf
    g_rel_min: float = 0.0
    g_rel_max: float = np.inf
    law = "linear"

    def __post_init__(self):
        _check_clip("LinearClip", self.lo, self.hi)
        if not 0.0 <= self.g_rel_min <= self.g_rel_max:
            raise ConfigError(f"LinearClip: need 0 <= g_rel_min <= g_rel_max, got {self.g_rel_min}, {self.g_rel_max}")

    def __call__(self, g_rel) -> np.ndarray:
        """Evaluate at relative conductance ``g_rel`` = G/g_max."""
        return linear_clip(g_rel, self.b0, self.b1, self.lo, self.hi, self.g_rel_min, self.g_rel_max)


@dataclass(frozen=True)
class QuadraticClip(_Law):
    """y(G) = clip(b0 + b1 x + b2 x^2, lo, hi), x = G/g_max held within [g_rel_min, g_rel_max]."""

    b0: float
    b1: float
    b2: float
    lo: float = -np.inf
    hi: float = np.inf
    g_rel_min: float = 0.0
    g_rel_max: float = np.inf
    law = "quadratic"

    def __post_init__(self):
        _check_clip("QuadraticClip", self.lo, self.hi)
        if not 0.0 <= self.g_rel_min <= self.g_rel_max:
            raise ConfigError(f"QuadraticClip: need 0 <= g_rel_min <= g_rel_max, got {self.g_rel_min}, "
                              f"{self.g_rel_max}")

    def __call__(self, g_rel) -> np.ndarray:
        """Evaluate at relative conductance ``g_rel`` = G/g_max."""
        return quadratic_clip(g_rel, self.b0, self.b1, self.b2, self.lo, self.hi, self.g_rel_min, self.g_rel_max)


@dataclass(frozen=True)
class PchipLaw(_Law):
    """y(G): monotone PCHIP in ln(G/g_max) through knots (g_rel_knots, y_knots), flat outside the knots."""

    g_rel_knots: tuple
    y_knots: tuple
    lo: float = -np.inf
    hi: float = np.inf
    law = "pchip"

    def __post_init__(self):
        knots = tuple(float(v) for v in self.g_rel_knots)
        values = tuple(float(v) for v in self.y_knots)
        object.__setattr__(self, "g_rel_knots", knots)
        object.__setattr__(self, "y_knots", values)
        if len(knots) < 1 or len(knots) != len(values):
            raise ConfigError("PchipLaw: needs >= 1 knot and as many values as knots")
        if not all(math.isfinite(v) for v in knots + values) or knots[0] <= 0 or np.any(np.diff(knots) <= 0):
            raise ConfigError(f"PchipLaw: knots must be finite, > 0 and increasing, got {knots}")
        _check_clip("PchipLaw", self.lo, self.hi)

    def __call__(self, g_rel) -> np.ndarray:
        """Evaluate at relative conductance ``g_rel`` = G/g_max (flat outside the knots)."""
        return pchip(g_rel, self.g_rel_knots, self.y_knots, self.lo, self.hi)


@dataclass(frozen=True)
class PowerLawClip(_Law):
    """Q(G) = min(c / (G/g_max)^exponent, q_max): relative 1/f read-noise amplitude (dimensionless)."""

    c: float
    exponent: float
    q_max: float = np.inf
    law = "power"

    def __call__(self, g_rel) -> np.ndarray:
        """Evaluate at relative conductance ``g_rel`` = G/g_max (floored at G_REL_FLOOR)."""
        return power_law_clip(g_rel, self.c, self.exponent, self.q_max)


#: Drift-exponent law families by name (the ``law`` key of their dict form).
DRIFT_LAWS = {cls.law: cls for cls in (LogLinearClip, LinearClip, QuadraticClip, PchipLaw)}
assert tuple(DRIFT_LAWS) == DRIFT_FAMILIES


def drift_law_from_dict(data: dict):
    """A drift-exponent law from its dict form; without a ``law`` key it is a :class:`LogLinearClip` (old files)."""
    data = dict(data)
    family = data.pop("law", "loglinear")
    if family not in DRIFT_LAWS:
        raise ConfigError(f"unknown drift-law family {family!r}; known: {', '.join(DRIFT_LAWS)}")
    try:
        return DRIFT_LAWS[family](**data)
    except TypeError as exc:
        raise ConfigError(f"drift law {family!r}: malformed parameters {sorted(data)} ({exc})") from None


def power_law_from_dict(data: dict) -> PowerLawClip:
    """A :class:`PowerLawClip` from its dict form (the ``law`` key is optional)."""
    data = dict(data)
    if data.pop("law", "power") != "power":
        raise ConfigError("read-noise law must be the 'power' law")
    try:
        return PowerLawClip(**data)
    except TypeError as exc:
        raise ConfigError(f"read-noise law: malformed parameters {sorted(data)} ({exc})") from None
