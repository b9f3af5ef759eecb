"""Read-noise fits: 1/f power spectral density of conductance time series, and Q_s(G) per level.

Convention (as :mod:`devicelab.devices.synthetic`): the relative fluctuation x(t) = (G(t) - <G>) / <G> has
the one-sided PSD S_G(f)/G^2 = A / f^alpha (1/Hz at f = 1 Hz); the PCM model's 1/f amplitude is
Q_s = sqrt(A) for alpha = 1. The PSD is estimated with Welch's method (Hann window, 50 % overlap),
averaged in logarithmic frequency bins, and A, alpha (and optionally a white floor W) are fitted with
lmfit to the log of the binned PSD. Averaging in each bin keeps the bias of the log small (< 1 % in A for the
default settings, where each bin averages >= ~20 independent periodogram values).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import lmfit
import numpy as np
from scipy import signal

from devicelab.devices.fitbase import ParamEstimate, PartFit, check_criterion, choose, warn_quality
from devicelab.errors import ConfigError
from devicelab.measurements import MeasurementTable

#: Default Welch segment length as a fraction of the series (1/4: 7 half-overlapping segments).
SEGMENT_FRACTION = 4
#: Log-frequency bins per decade of the binned PSD.
BINS_PER_DECADE = 10


@dataclass(frozen=True)
class Spectrum:
    """A binned relative PSD: bin centre frequencies (Hz), mean PSD per bin (1/Hz) and values averaged."""

    f: np.ndarray
    psd: np.ndarray
    count: np.ndarray
    mean_g: float
    fs: float


def relative_psd(g, fs: float, *, nperseg: int | None = None, bins_per_decade: int = BINS_PER_DECADE,
                 f_range: tuple[float, float] | None = None) -> Spectrum:
    """Welch PSD of the relative fluctuation of one conductance series ``g`` (S) sampled at ``fs`` (Hz).

    ``nperseg`` defaults to len(g) // 4 (7 half-overlapping segments); the first two frequency bins (window
    leakage of the mean) and bins above 0.4 fs (anti-aliasing roll-off of real instruments) are dropped
    unless ``f_range`` (Hz) says otherwise.
    """
    g = np.asarray(g, dtype=float)
    if g.ndim != 1 or g.size < 64:
        raise ConfigError(f"a read-noise series needs >= 64 samples, got {g.size}")
    if not (np.isfinite(fs) and fs > 0):
        raise ConfigError(f"sample rate must be finite and > 0 Hz, got {fs}")
    mean_g = float(np.mean(g))
    if mean_g <= 0:
        raise ConfigError("a read-noise series must have a positive mean conductance")
    nperseg = int(nperseg or g.size // SEGMENT_FRACTION)
    f, psd = signal.welch(g / mean_g - 1.0, fs=fs, nperseg=min(nperseg, g.size), scaling="density")
    lo, hi = f_range if f_range is not None else (2.5 * fs / nperseg, 0.4 * fs)
    keep = (f >= lo) & (f <= hi) & (f > 0)
    f, psd = f[keep], psd[keep]
    if f.size < 4:
        raise ConfigError(f"too few frequencies in the band [{lo:g}, {hi:g}] Hz for a PSD fit")
    edges = 10 ** (np.arange(np.floor(np.log10(f[0]) * bins_per_decade),
                             np.ceil(np.log10(f[-1]) * bins_per_decade) + 1) / bins_per_decade)
    which = np.digitize(f, edges)
    count = np.bincount(which, minlength=edges.size + 1)
    used = count > 0
    mean_psd = np.bincount(which, psd, edges.size + 1)[used] / count[used]
    f_centre = np.exp(np.bincount(which, np.log(f), edges.size + 1)[used] / count[used])
    return Spectrum(f=f_centre, psd=mean_psd, count=count[used].astype(float), mean_g=mean_g, fs=float(fs))


def _psd_residual(params, lf, lpsd, weight):
    p = params.valuesdict()
    model = 10 ** (p["log10_A"] - p["alpha"] * lf)
    if "log10_W" in p:
        model = model + 10 ** p["log10_W"]
    return (np.log10(model) - lpsd) * weight


def fit_psd(spectrum: Spectrum, *, white_floor: bool | None = False, criterion: str = "bic",
            name: str = "psd") -> PartFit:
    """Fit S(f) = A / f^alpha (+ W) to a binned relative PSD; A in 1/Hz at 1 Hz, W in 1/Hz.

    ``white_floor``: False fits the pure power law; True always adds W; None lets ``criterion`` choose.
    The result's params are ``A``, ``alpha``, ``Q_s`` (= sqrt(A)) and, with a floor, ``W``. The log10 PSD
    residuals are weighted by sqrt(values per bin); standard errors are scaled by the reduced chi-square.
    """
    check_criterion(criterion)
    lf, lpsd = np.log10(spectrum.f), np.log10(spectrum.psd)
    weight = np.sqrt(spectrum.count)
    slope, icpt = np.polyfit(lf, lpsd, 1, w=weight)
    variants = [False, True] if white_floor is None else [bool(white_floor)]
    fits = []
    for floor in variants:
        params = lmfit.Parameters()
        params.add("log10_A", value=icpt)
        params.add("alpha", value=-slope, min=0.0, max=3.0)
        if floor:
            params.add("log10_W", value=float(np.min(lpsd)) - 0.5)
        result = lmfit.minimize(_psd_residual, params, args=(lf, lpsd, weight), method="leastsq")
        fits.append(("A/f^alpha + W" if floor else "A/f^alpha", result))
    best, table = choose(fits, criterion) if len(fits) > 1 else (0, ())
    label, result = fits[best]
    p = result.params

    def err(par):
        return par.stderr if par.stderr is not None and np.isfinite(par.stderr) else math.nan

    amp = 10 ** p["log10_A"].value
    amp_err = amp * math.log(10) * err(p["log10_A"])
    params = {
        "A": ParamEstimate(amp, amp_err, 0.0, math.inf, "1/Hz"),
        "alpha": ParamEstimate(p["alpha"].value, err(p["alpha"]), 0.0, 3.0, "1"),
        "Q_s": ParamEstimate(math.sqrt(amp), amp_err / (2 * math.sqrt(amp)), 0.0, math.inf, "1", vary=False),
    }
    if "log10_W" in p:
        w = 10 ** p["log10_W"].value
        params["W"] = ParamEstimate(w, w * math.log(10) * err(p["log10_W"]), 0.0, math.inf, "1/Hz")
    part = PartFit(
        name=name, formula=f"S_G(f)/G^2 = {label}", params=params, chisqr=float(result.chisqr),
        redchi=float(result.redchi), aic=float(result.aic), bic=float(result.bic), n_points=int(result.ndata),
        success=bool(result.success), message=str(result.message), candidates=table,
        criterion=criterion if table else "",
        data={"f": spectrum.f, "psd": spectrum.psd, "count": spectrum.count, "mean_g": np.array(spectrum.mean_g)},
    )
    warn_quality(part)
    return part


def series_of(table: MeasurementTable) -> list[tuple[int, float, float, np.ndarray]]:
    """Split a time-series table into ``(device, g_target, fs, g)`` per device (reads sorted by time).

    The sample rate fs (Hz) is 1 / median time step; raises :class:`ConfigError` when the sampling of a
    device is not uniform to 1 %.
    """
    order = np.lexsort((table.t, table.device))
    dev, t, g, gt = table.device[order], table.t[order], table.g[order], table.g_target[order]
    starts = np.flatnonzero(np.r_[True, dev[1:] != dev[:-1]])
    ends = np.r_[starts[1:], dev.size]
    out = []
    for s, e in zip(starts, ends):
        dt = np.diff(t[s:e])
        if dt.size < 1:
            continue
        step = float(np.median(dt))
        if step <= 0 or np.max(np.abs(dt - step)) > 0.01 * step:
            raise ConfigError(f"{table.source}: device {dev[s]} is not sampled uniformly in time "
                              f"(median step {step:g} s); a PSD needs uniform sampling")
        out.append((int(dev[s]), float(gt[s]), 1.0 / step, g[s:e]))
    return out


def fit_series_psd(table: MeasurementTable, *, white_floor: bool | None = False, criterion: str = "bic",
                   nperseg: int | None = None, f_range=None) -> list[PartFit]:
    """Fit the relative 1/f PSD of every device's time series in ``table``; one :class:`PartFit` per device.

    Each result's ``data`` also holds ``g_target`` (S) and ``device`` (code).
    """
    fits = []
    for device, g_target, fs, g in series_of(table):
        spectrum = relative_psd(g, fs, nperseg=nperseg, f_range=f_range)
        part = fit_psd(spectrum, white_floor=white_floor, criterion=criterion, name=f"psd device {device}")
        part.data.update(g_target=np.array(g_target), device=np.array(device))
        fits.append(part)
    if not fits:
        raise ConfigError(f"{table.source}: no time series with more than one sample")
    return fits


def q_s_points(psd_fits: list[PartFit]) -> dict[str, np.ndarray]:
    """Q_s (dimensionless) with standard error per device series, at the series' mean conductance (S).

    The model's read noise depends on the programmed conductance, which the series mean measures, so the
    Q_s(G) law is fitted on these per-device points (keys ``g``, ``q``, ``q_err``, ``alpha``, ``g_target``).
    """
    return {
        "g": np.array([float(p.data["mean_g"]) for p in psd_fits]),
        "q": np.array([p.value("Q_s") for p in psd_fits]),
        "q_err": np.array([p.stderr("Q_s") for p in psd_fits]),
        "alpha": np.array([p.value("alpha") for p in psd_fits]),
        "g_target": np.array([float(p.data["g_target"]) for p in psd_fits]),
    }
