"""Static ADC metrics: transition levels from a code sweep, offset, gain error, INL/DNL and ENOB.

Conventions (``K = 2^bits - 1`` transitions; ideal ones at ``T_k = v_min + k LSB``, ``LSB = (v_max - v_min) / 2^bits``,
i.e. a truncating quantizer whose code k covers [T_k, T_k+1)):

* **Transition levels** from a uniform input sweep by the code-density (cumulative histogram) method of
  IEEE 1241: with inputs ``v_i = v_0 + i dv`` and ``m_k`` inputs giving a code below k,
  ``T_k = v_0 + (m_k - 1/2) dv``; exact to +-dv/2 for a monotonic converter and the mean crossing for a noisy one.
* **Endpoint** line: through (1, T_1) and (K, T_K); its slope is the average code width ``LSB_ep``.
  ``offset_endpoint = T_1 - (v_min + LSB)`` (V), ``gain_error_endpoint = LSB / LSB_ep - 1`` (gain in codes
  per volt relative to ideal; positive = more codes per volt), ``INL_ep[k] = (T_k - line_k) / LSB_ep``.
* **Best-fit** line: least squares ``T_k ~ a + b k``; ``offset = a + b - (v_min + LSB)`` (V, the fitted first
  transition's deviation), ``gain_error = LSB / b - 1``, ``INL_bf[k] = (T_k - a - b k) / b``.
* **DNL** of codes 1..K-1: ``(T_k+1 - T_k) / LSB_ep - 1`` (LSB); a missing code has DNL = -1.
* **ENOB** from the sweep: ``bits - log2(rms(e) / (LSB / sqrt 12))`` with e the reconstruction error
  (code centre minus input) over inputs inside [v_min, v_max]; ``enob`` after removing the best-fit gain and
  offset (as the sine-fit of IEEE 1241 does), ``enob_raw`` without.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from devicelab.errors import DevicelabError


@dataclass(frozen=True)
class Linearity:
    """Static linearity of an ADC from its transition levels (V); see the module docstring for definitions.

    ``lsb`` (V, ideal), ``offset``/``offset_endpoint`` (V), ``gain_error``/``gain_error_endpoint`` (1),
    ``inl_bestfit``/``inl_endpoint`` (LSB, per transition 1..K), ``dnl`` (LSB, per code 1..K-1),
    ``missing_codes`` (codes 1..K-1 of zero width).
    """

    lsb: float
    offset: float
    gain_error: float
    offset_endpoint: float
    gain_error_endpoint: float
    inl_bestfit: np.ndarray
    inl_endpoint: np.ndarray
    dnl: np.ndarray
    missing_codes: tuple[int, ...]

    @property
    def max_inl(self) -> float:
        """Largest |best-fit INL| (LSB)."""
        return float(np.max(np.abs(self.inl_bestfit)))

    @property
    def max_inl_endpoint(self) -> float:
        """Largest |endpoint INL| (LSB)."""
        return float(np.max(np.abs(self.inl_endpoint)))

    @property
    def max_dnl(self) -> float:
        """Largest |DNL| (LSB)."""
        return float(np.max(np.abs(self.dnl))) if self.dnl.size else 0.0


def ideal_transitions(bits: int, v_min: float, v_max: float) -> np.ndarray:
    """Ideal transition levels T_1..T_K (V) of a truncating ``bits``-bit quantizer on [v_min, v_max]."""
    k = np.arange(1, 2**bits, dtype=np.float64)
    return (v_min * (2**bits - k) + v_max * k) / 2**bits


def transitions_from_sweep(inputs, codes, bits: int) -> np.ndarray:
    """Transition levels T_1..T_K (V) from codes of a uniform, increasing input sweep (code-density method).

    Raises DevicelabError if the inputs are not uniform and increasing or the sweep does not reach code 0 at
    its start and the top code at its end (the outer transitions would be unknown).
    """
    v = np.asarray(inputs, dtype=np.float64)
    c = np.asarray(codes)
    top = 2**bits - 1
    if v.ndim != 1 or v.size < 3 or c.shape != v.shape:
        raise DevicelabError("transition levels need matching 1-D inputs and codes with at least 3 points")
    dv = np.diff(v)
    if np.any(dv <= 0) or np.ptp(dv) > 1e-6 * abs(dv[0]):
        raise DevicelabError("transition levels need a uniform, increasing input sweep")
    if c[0] != 0 or c[-1] != top:
        raise DevicelabError(f"the input sweep [{v[0]:.6g}, {v[-1]:.6g}] V gives codes {c[0]}..{c[-1]}; it must "
                             f"start at code 0 and end at code {top} (widen the sweep)")
    below = np.searchsorted(np.sort(c), np.arange(1, top + 1), side="left")  # m_k = #codes < k
    return v[0] + (below - 0.5) * dv[0]


def linearity(transitions, bits: int, v_min: float, v_max: float) -> Linearity:
    """Offset, gain error, INL and DNL of transition levels T_1..T_K (V) against the ideal quantizer."""
    t = np.asarray(transitions, dtype=np.float64)
    n_trans = 2**bits - 1
    if t.shape != (n_trans,) or not np.all(np.isfinite(t)):
        raise DevicelabError(f"expected {n_trans} finite transition levels for {bits} bits, got shape {t.shape}")
    lsb = (v_max - v_min) / 2**bits
    k = np.arange(1, n_trans + 1, dtype=np.float64)
    lsb_ep = (t[-1] - t[0]) / (n_trans - 1)
    slope, intercept = np.polyfit(k, t, 1)
    if lsb_ep <= 0 or slope <= 0:
        raise DevicelabError("transition levels do not increase with code: not a working converter")
    inl_ep = (t - (t[0] + (k - 1) * lsb_ep)) / lsb_ep
    inl_bf = (t - (intercept + slope * k)) / slope
    dnl = np.diff(t) / lsb_ep - 1.0
    missing = tuple(int(code) for code in np.flatnonzero(np.diff(t) <= 0) + 1)
    return Linearity(lsb=lsb, offset=float(intercept + slope - (v_min + lsb)), gain_error=float(lsb / slope - 1),
                     offset_endpoint=float(t[0] - (v_min + lsb)), gain_error_endpoint=float(lsb / lsb_ep - 1),
                     inl_bestfit=inl_bf, inl_endpoint=inl_ep, dnl=dnl, missing_codes=missing)


def enob_from_sweep(inputs, codes, bits: int, v_min: float, v_max: float, fit: bool = True) -> float:
    """Effective number of bits from a dense input sweep (see the module docstring).

    ``fit=True`` removes the best-fit gain and offset between code centres and inputs first.
    """
    v = np.asarray(inputs, dtype=np.float64)
    c = np.asarray(codes, dtype=np.float64)
    inside = (v >= v_min) & (v <= v_max)
    if np.count_nonzero(inside) < 3:
        raise DevicelabError("ENOB needs at least 3 sweep inputs inside [v_min, v_max]")
    lsb = (v_max - v_min) / 2**bits
    centre = v_min + (c[inside] + 0.5) * lsb
    if fit:
        gain, offset = np.polyfit(centre, v[inside], 1)
        centre = offset + gain * centre
    rms = float(np.sqrt(np.mean((centre - v[inside]) ** 2)))
    return float(bits - np.log2(rms / (lsb / np.sqrt(12.0))))
