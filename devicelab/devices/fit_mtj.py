"""Fit the R_P / R_AP distributions of an :class:`~devicelab.devices.mtj.MTJModel` from a measurement table.

Input: a :class:`~devicelab.measurements.MeasurementTable` read through the ordinary loaders, whose ``g``
column holds the measured read conductance (a resistance column maps onto it through a ColumnMapping with a
resistance unit, G = 1 / R) and whose ``g_target`` column tells the two written states apart (any two
distinct values, e.g. the nominal state resistances; the larger target conductance is the P state).

Each device's resistance is the geometric mean of its reads (so read noise does not inflate the
device-to-device spread); the lognormal maximum-likelihood estimates are then the mean and standard deviation
of ln R per state, with standard errors s / sqrt(n) (median, as a relative error) and s / sqrt(2 (n - 1))
(spread). A Kolmogorov-Smirnov p-value against the fitted normal distribution of ln R is reported per state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from devicelab.devices.mtj import MTJModel, pim_default
from devicelab.errors import InputFileError

MIN_DEVICES = 3


@dataclass(frozen=True)
class StateFit:
    """Lognormal fit of one state's device resistances.

    ``median`` (ohm) and its relative standard error ``median_rel_err``; ``sigma`` (std of ln R) and its
    standard error ``sigma_err``; ``n_devices``; ``ks_pvalue`` (lognormal hypothesis).
    """

    median: float
    median_rel_err: float
    sigma: float
    sigma_err: float
    n_devices: int
    ks_pvalue: float


@dataclass(frozen=True)
class MTJFitResult:
    """R_P / R_AP distributions fitted from a measurement table (see the module docstring)."""

    p: StateFit
    ap: StateFit
    source: str

    @property
    def tmr0(self) -> float:
        """Zero-bias TMR of the fitted medians, (R_AP - R_P) / R_P."""
        return self.ap.median / self.p.median - 1.0

    def model(self, base: MTJModel | None = None) -> MTJModel:
        """``base`` (default the ``pim_default`` preset) with R_P, TMR0 and both spreads from this fit."""
        base = base or pim_default()
        return base.replace(r_p=self.p.median, tmr0=self.tmr0, sigma_p=self.p.sigma, sigma_ap=self.ap.sigma,
                            name=f"fit:{self.source}", source=f"R_P/R_AP lognormal fit of {self.source}; "
                            f"other parameters from {base.name}")

    def report(self) -> str:
        """The fit as text (ohm, dimensionless spreads)."""
        lines = [f"MTJ resistance fit of {self.source} (lognormal per state)"]
        for label, s in (("P ", self.p), ("AP", self.ap)):
            lines.append(f"  R_{label} median {s.median:.6g} ohm (+- {100 * s.median_rel_err:.2f} %), sigma(ln R) "
                         f"{s.sigma:.4f} +- {s.sigma_err:.4f}, {s.n_devices} devices, KS p = {s.ks_pvalue:.3f}")
        lines.append(f"  TMR0 {100 * self.tmr0:.2f} %")
        return "\n".join(lines)


def _state_fit(log_r: np.ndarray) -> StateFit:
    from scipy import stats

    n = log_r.size
    mu = float(np.mean(log_r))
    sigma = float(np.std(log_r, ddof=1))
    ks = float(stats.kstest(log_r, "norm", args=(mu, sigma)).pvalue) if sigma > 0 else math.nan
    return StateFit(median=math.exp(mu), median_rel_err=sigma / math.sqrt(n), sigma=sigma,
                    sigma_err=sigma / math.sqrt(2 * (n - 1)), n_devices=n, ks_pvalue=ks)


def fit_mtj_resistances(table) -> MTJFitResult:
    """Fit lognormal R_P and R_AP distributions (ohm) from ``table`` (a MeasurementTable, see module docstring).

    Raises :class:`~devicelab.errors.InputFileError` naming the source when the table does not hold exactly
    two states, a state has fewer than :data:`MIN_DEVICES` devices or a zero conductance, or the fitted
    R_AP is not above R_P.
    """
    levels = table.levels()
    if levels.size != 2:
        raise InputFileError(table.source, f"expected exactly two written states (P and AP) in g_target, found "
                                           f"{levels.size} distinct value(s)", field="g_target")
    if np.any(table.g <= 0):
        row = int(np.argmax(table.g <= 0)) + 1
        raise InputFileError(table.source, "a read conductance of 0 S is an open circuit, not an MTJ state",
                             row=row, field="g")
    fits = []
    for level in (levels[1], levels[0]):  # larger target conductance = P
        sel = table.g_target == level
        devices, inverse = np.unique(table.device[sel], return_inverse=True)
        log_r = -np.log(table.g[sel])
        per_device = np.bincount(inverse, weights=log_r) / np.bincount(inverse)
        if devices.size < MIN_DEVICES:
            raise InputFileError(table.source, f"state with g_target = {level:g} S has {devices.size} device(s); "
                                               f"at least {MIN_DEVICES} are needed for a spread", field="g_target")
        fits.append(_state_fit(per_device))
    p, ap = fits
    if ap.median <= p.median:
        raise InputFileError(table.source, f"fitted R_AP = {ap.median:g} ohm is not above R_P = {p.median:g} ohm "
                                           "(the state with the larger g_target must read the lower resistance)",
                             field="g")
    return MTJFitResult(p=p, ap=ap, source=str(table.source))
