"""Common result type of every device-model fit, built from lmfit results, and model-order selection.

A fit of one model part (programming noise, drift laws, read noise, Arrhenius, read I-V) returns a
:class:`PartFit`: the parameters with standard errors, bounds and units, goodness of fit (chi-square,
reduced chi-square, AIC, BIC, number of points), the candidate models compared by an information
criterion, and the data the fit used (for plots). Fits never print; :meth:`PartFit.report` returns text.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from devicelab.errors import ConfigError, FitQualityWarning

if TYPE_CHECKING:
    from lmfit.minimizer import MinimizerResult

CRITERIA = ("aic", "bic")


@dataclass(frozen=True)
class ParamEstimate:
    """One fitted parameter: value, standard error (NaN when not estimable), bounds and unit."""

    value: float
    stderr: float = math.nan
    min: float = -math.inf
    max: float = math.inf
    units: str = "1"
    vary: bool = True

    def on_bound(self, rtol: float = 1e-6) -> bool:
        """True when a varied parameter sits on a finite bound (within ``rtol`` relative to the bound's scale)."""
        if not self.vary:
            return False
        for bound in (self.min, self.max):
            if np.isfinite(bound):
                scale = max(abs(self.value), abs(bound))
                if abs(self.value - bound) <= rtol * scale or scale == 0.0:
                    return True
        return False


@dataclass(frozen=True)
class PartFit:
    """Result of fitting one part of a device model.

    Attributes
    ----------
    name : str
        Which part (e.g. ``"sigma_prog"``, ``"nu_mean"``, ``"read_noise"``).
    formula : str
        The fitted law in words/symbols (e.g. ``"c0 + c1 x + c2 x^2, x = G/g_max"``).
    params : dict of str -> ParamEstimate
        Fitted parameters in SI units.
    chisqr, redchi, aic, bic : float
        Weighted chi-square, reduced chi-square and the information criteria as computed by lmfit.
    n_points : int
        Number of data points (residuals) in the fit.
    success : bool
        Whether the optimizer reported convergence.
    message : str
        Optimizer message.
    candidates : tuple of dict
        Models compared by the information criterion: ``{"model", "n_params", "aic", "bic", "chisqr"}``.
    criterion : str
        Criterion used to choose among candidates (``"aic"`` or ``"bic"``), or ``""`` if there was one model.
    data : dict of str -> ndarray
        The points the fit used (for plots), e.g. ``x``, ``y``, ``yerr``.
    law : object or None
        The fitted law object of :mod:`devicelab.devices.laws` when the part is one of the model's laws
        chosen among families (the drift-exponent laws), else None.
    """

    name: str
    formula: str
    params: dict
    chisqr: float
    redchi: float
    aic: float
    bic: float
    n_points: int
    success: bool = True
    message: str = ""
    candidates: tuple = ()
    criterion: str = ""
    data: dict = field(default_factory=dict, compare=False, repr=False)
    law: object = field(default=None, compare=False, repr=False)

    def value(self, name: str) -> float:
        """Fitted value of parameter ``name``."""
        return self.params[name].value

    def stderr(self, name: str) -> float:
        """Standard error of parameter ``name`` (NaN if not estimable)."""
        return self.params[name].stderr

    def summary(self) -> dict:
        """Plain-dict statistics (JSON friendly): goodness of fit and parameters."""
        return {
            "name": self.name,
            "formula": self.formula,
            "chisqr": self.chisqr,
            "redchi": self.redchi,
            "aic": self.aic,
            "bic": self.bic,
            "n_points": self.n_points,
            "success": self.success,
            "criterion": self.criterion,
            "params": {
                k: {"value": p.value, "stderr": p.stderr, "min": p.min, "max": p.max, "units": p.units}
                for k, p in self.params.items()
            },
            "candidates": [dict(c) for c in self.candidates],
        }

    def report(self) -> str:
        """Human-readable report of this fit (like lmfit's ``fit_report``)."""
        lines = [f"[{self.name}] {self.formula}",
                 f"  n = {self.n_points}, chi2 = {self.chisqr:.4g}, redchi = {self.redchi:.4g}, "
                 f"AIC = {self.aic:.4g}, BIC = {self.bic:.4g}, converged = {self.success}"]
        for key, p in self.params.items():
            err = "n/a" if not np.isfinite(p.stderr) else f"{p.stderr:.3g}"
            lines.append(f"  {key:>12} = {p.value:.6g} +/- {err} {p.units}  [{p.min:.3g}, {p.max:.3g}]")
        if len(self.candidates) > 1:
            lines.append(f"  model chosen by {self.criterion.upper()} among: "
                         + ", ".join(f"{c['model']} ({c[self.criterion]:.4g})" for c in self.candidates))
        return "\n".join(lines)


def check_criterion(criterion: str) -> str:
    """Validate an information-criterion name (``"aic"`` or ``"bic"``)."""
    if criterion not in CRITERIA:
        raise ConfigError(f"information criterion must be one of {CRITERIA}, got {criterion!r}")
    return criterion


def part_from_lmfit(name: str, formula: str, result, units: dict | None = None, *, data=None,
                    candidates=(), criterion: str = "", warn: bool = True, scales: dict | None = None) -> PartFit:
    """Convert an lmfit ``MinimizerResult`` into a :class:`PartFit`; warn on poor convergence or bounds.

    ``units`` maps parameter names to unit strings (default ``"1"``); ``scales`` maps parameter names to
    factors that convert the internally fitted (well-scaled) values to SI (value, stderr and bounds are
    multiplied). Emits :class:`FitQualityWarning` when the optimizer did not converge or a varied parameter
    ends on one of its bounds.
    """
    units = units or {}
    scales = scales or {}
    params = {}
    for key, par in result.params.items():
        stderr = par.stderr if par.stderr is not None and np.isfinite(par.stderr) else math.nan
        k = float(scales.get(key, 1.0))
        lo, hi = sorted((float(par.min) * k, float(par.max) * k))
        params[key] = ParamEstimate(float(par.value) * k, float(stderr) * abs(k), lo, hi,
                                    units.get(key, "1"), bool(par.vary))
    nvarys = max(int(result.nvarys), 1)
    part = PartFit(
        name=name, formula=formula, params=params,
        chisqr=float(result.chisqr), redchi=float(result.redchi) if result.ndata > nvarys else math.nan,
        aic=float(result.aic), bic=float(result.bic), n_points=int(result.ndata),
        success=bool(result.success), message=str(result.message),
        candidates=tuple(candidates), criterion=criterion, data=dict(data or {}),
    )
    if warn:
        warn_quality(part)
    return part


def warn_quality(part: PartFit) -> None:
    """Emit :class:`FitQualityWarning` if ``part`` did not converge or has a parameter on a bound."""
    if not part.success:
        warnings.warn(f"fit of {part.name} did not converge ({part.message}); check the report before "
                      f"using it, or supply more data", FitQualityWarning, stacklevel=3)
    stuck = [k for k, p in part.params.items() if p.on_bound()]
    if stuck:
        warnings.warn(f"fit of {part.name}: parameter(s) {', '.join(stuck)} sit on a bound; the data do not "
                      f"constrain them within the allowed range (widen the bounds or add data)",
                      FitQualityWarning, stacklevel=3)


def known_scale_criteria(result: MinimizerResult) -> tuple[float, float]:
    """AIC = chi2 + 2k and BIC = chi2 + k ln n of a fit whose residuals are in units of known standard errors.

    lmfit's n ln(chi2/n) + ... forms estimate the error scale from the residuals, which with a handful of
    points rewards near-interpolating candidates without bound; when the errors are known (per-level
    standard errors) the Gaussian log-likelihood is -chi2/2 and these forms apply.
    """
    k, n = int(result.nvarys), int(result.ndata)
    chi2 = float(result.chisqr)
    return chi2 + 2 * k, chi2 + k * math.log(max(n, 1))


def choose(results: Sequence[tuple[str, MinimizerResult]], criterion: str,
           known_scale: bool = False) -> tuple[int, tuple[dict, ...]]:
    """Pick the candidate with the lowest information criterion among ``(label, MinimizerResult)`` pairs.

    Returns the index of the winner and the candidate table for :attr:`PartFit.candidates`.
    Candidates whose fit failed (non-finite criterion) are never chosen. ``known_scale`` uses
    :func:`known_scale_criteria` instead of lmfit's aic/bic.
    """
    check_criterion(criterion)

    def scores(r: MinimizerResult) -> tuple[float, float]:
        return known_scale_criteria(r) if known_scale else (float(r.aic), float(r.bic))

    scored = [(label, r, *scores(r)) for label, r in results]
    table = tuple({"model": label, "n_params": int(r.nvarys), "aic": aic, "bic": bic, "chisqr": float(r.chisqr)}
                  for label, r, aic, bic in scored)
    chosen = [aic if criterion == "aic" else bic for _, _, aic, bic in scored]
    values = [v if np.isfinite(v) else math.inf for v in chosen]
    if not np.isfinite(min(values)):
        raise ConfigError("no candidate model could be fitted to the data")
    return int(np.argmin(values)), table


def spread_from_variance(variance: float, variance_err: float) -> tuple[float, float]:
    """A spread (standard deviation) and its standard error from an estimated variance and its error.

    Negative variances (noise larger than the signal) give a spread of 0; near 0 the linearized error
    variance_err / (2 sigma) diverges, so it is capped at sqrt(variance_err), the spread that one standard
    error of the variance amounts to.
    """
    sigma = math.sqrt(max(variance, 0.0))
    if sigma > math.sqrt(variance_err) / 2:
        return sigma, variance_err / (2 * sigma)
    return sigma, math.sqrt(variance_err)
