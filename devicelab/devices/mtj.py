"""Magnetic tunnel junction (MTJ) compact model for digital MRAM processing-in-memory.

Units: resistances in ohm, voltages in V, currents in A, times in s.

A memory cell stores one bit as the magnetic state of an MTJ: parallel (P, low resistance) or antiparallel
(AP, high resistance). This module uses the convention **bit 1 = AP, bit 0 = P** throughout.

- resistances:  R_P (bias independent), R_AP(V) = R_P (1 + TMR(V)), with the bias dependence of the
  tunnel magnetoresistance TMR(V) = TMR0 / (1 + (V / V_h)^2) (the standard form of compact MTJ models, e.g.
  Zhang et al., IEEE Trans. Electron Devices 59, 819 (2012), whose V_h = 0.5 V is used by the presets);
- device-to-device spread: **lognormal**, ln R_P ~ N(ln R_P0, sigma_p^2) and ln R_AP ~ N(ln R_AP0,
  sigma_ap^2), drawn independently per device (R_P0, R_AP0 are medians);
- read disturb and retention (thermal-activation, Neel-Brown model with the linear current reduction of the
  barrier used for STT switching below the critical current, e.g. Khvalkovskiy et al., J. Phys. D 46, 074001
  (2013)): a read of duration t with current I flips the state it destabilizes with probability
  P = 1 - exp(-(t / tau0) exp(-Delta (1 - I / Ic0))), for 0 <= I < Ic0; I = 0 gives the retention failure
  probability over a storage time t. The read-current direction destabilizes one state only (P -> AP here,
  i.e. current flowing from the free to the reference layer); the other state is stabilized by it.

Validity: |V| <= ``v_max`` (the bias range where the Lorentzian TMR(V) law is fitted in the cited models) and
I < Ic0 for the disturb law (above Ic0 the cell switches deterministically; that is a write, not a read).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from devicelab.errors import ConfigError

#: Default attempt time tau0 (s) of thermally activated switching (1 ns, the usual value; Khvalkovskiy 2013).
TAU0 = 1e-9


def _positive(value, what: str) -> float:
    number = float(value)
    if not (math.isfinite(number) and number > 0):
        raise ConfigError(f"{what}: expected a finite number > 0, got {value!r}")
    return number


@dataclass(frozen=True)
class MTJModel:
    """MTJ compact model (see the module docstring for the laws).

    Attributes
    ----------
    r_p : float
        Median parallel-state resistance at zero bias, ohm.
    tmr0 : float
        Zero-bias tunnel magnetoresistance (R_AP - R_P) / R_P (dimensionless, > 0; 1.5 means 150 %).
    sigma_p, sigma_ap : float
        Device-to-device spread: standard deviation of ln R_P and ln R_AP (dimensionless, >= 0).
    v_h : float
        Bias at which the TMR has fallen to half its zero-bias value, V.
    delta : float
        Thermal stability factor E_b / (k_B T) (dimensionless).
    ic0 : float
        Critical switching current (STT, through the junction), A.
    tau0 : float
        Attempt time of thermally activated switching, s.
    v_max : float
        Largest |bias| (V) inside the model's validity range.
    name, source : str
        Preset name and where its values come from.
    """

    r_p: float
    tmr0: float
    sigma_p: float = 0.0
    sigma_ap: float = 0.0
    v_h: float = 0.5
    delta: float = 60.0
    ic0: float = 50e-6
    tau0: float = TAU0
    v_max: float = 0.5
    name: str = "mtj"
    source: str = ""

    def __post_init__(self):
        _positive(self.r_p, "MTJModel.r_p (ohm)")
        tmr0 = float(self.tmr0)
        if not (math.isfinite(tmr0) and tmr0 > 0):
            raise ConfigError(f"MTJModel.tmr0: the TMR must be > 0 (R_AP > R_P), got {self.tmr0!r}")
        for name in ("sigma_p", "sigma_ap"):
            value = float(getattr(self, name))
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"MTJModel.{name}: expected a finite spread >= 0 (std of ln R), got {value!r}")
        for name, unit in (("v_h", "V"), ("delta", "1"), ("ic0", "A"), ("tau0", "s"), ("v_max", "V")):
            _positive(getattr(self, name), f"MTJModel.{name} ({unit})")

    @classmethod
    def from_resistances(cls, r_p: float, r_ap: float, **kwargs) -> "MTJModel":
        """Model with median zero-bias resistances ``r_p`` and ``r_ap`` (ohm); raises if R_AP <= R_P."""
        r_p = _positive(r_p, "R_P (ohm)")
        r_ap = _positive(r_ap, "R_AP (ohm)")
        if r_ap <= r_p:
            raise ConfigError(f"R_AP = {r_ap:g} ohm must exceed R_P = {r_p:g} ohm (the TMR must be > 0)")
        return cls(r_p=r_p, tmr0=r_ap / r_p - 1.0, **kwargs)

    @property
    def r_ap(self) -> float:
        """Median antiparallel-state resistance at zero bias, ohm."""
        return self.r_p * (1.0 + self.tmr0)

    def replace(self, **changes) -> "MTJModel":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def tmr(self, v) -> np.ndarray:
        """TMR at bias ``v`` (V): TMR0 / (1 + (v / V_h)^2) (dimensionless)."""
        v = np.asarray(v, dtype=np.float64)
        return self.tmr0 / (1.0 + (v / self.v_h) ** 2)

    def resistance(self, bits, v=0.0, r_p=None, r_ap=None) -> np.ndarray:
        """Resistance (ohm) of cells storing ``bits`` (1 = AP, 0 = P) at bias ``v`` (V).

        ``r_p``/``r_ap`` (ohm, same shape as ``bits`` or broadcastable): per-device zero-bias resistances
        (e.g. from :meth:`sample_devices`); default the medians. The AP resistance follows TMR(V) scaled
        by the device's own zero-bias TMR: R_AP(V) = R_P + (R_AP0 - R_P) / (1 + (V / V_h)^2).
        """
        bits = np.asarray(bits)
        r_p = np.broadcast_to(self.r_p if r_p is None else np.asarray(r_p, dtype=np.float64), bits.shape)
        r_ap = np.broadcast_to(self.r_ap if r_ap is None else np.asarray(r_ap, dtype=np.float64), bits.shape)
        v = np.asarray(v, dtype=np.float64)
        r_ap_v = r_p + (r_ap - r_p) / (1.0 + (v / self.v_h) ** 2)
        return np.where(bits.astype(bool), r_ap_v, r_p)

    def sample_devices(self, shape, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Per-device zero-bias (R_P, R_AP) in ohm, each lognormal around its median (independent draws)."""
        r_p = self.r_p * np.exp(self.sigma_p * rng.standard_normal(shape))
        r_ap = self.r_ap * np.exp(self.sigma_ap * rng.standard_normal(shape))
        return r_p, r_ap

    def switching_probability(self, current, duration) -> np.ndarray:
        """Probability that a current ``current`` (A, >= 0) for ``duration`` (s) flips the state it destabilizes.

        P = 1 - exp(-(t / tau0) exp(-Delta (1 - I / Ic0))) (thermal activation over the current-lowered
        barrier). Valid for 0 <= I < Ic0; raises ConfigError outside that range.
        """
        i = np.asarray(current, dtype=np.float64)
        t = np.asarray(duration, dtype=np.float64)
        if np.any(~np.isfinite(i)) or np.any(i < 0) or np.any(i >= self.ic0):
            raise ConfigError(f"read current must be in [0, Ic0 = {self.ic0:g} A) for the disturb law, got "
                              f"{np.min(i):g} .. {np.max(i):g} A")
        if np.any(~np.isfinite(t)) or np.any(t < 0):
            raise ConfigError("duration must be finite and >= 0 s")
        rate = np.exp(-self.delta * (1.0 - i / self.ic0)) / self.tau0
        return -np.expm1(-t * rate)

    def read_disturb_probability(self, v_read: float, t_read: float) -> float:
        """Flip probability of a P cell read once at bias ``v_read`` (V) for ``t_read`` (s), at median R_P."""
        return float(self.switching_probability(abs(v_read) / self.r_p, t_read))

    def retention_failure_probability(self, t) -> np.ndarray:
        """Probability that a stored bit has flipped thermally after storage time ``t`` (s, no current)."""
        return self.switching_probability(np.zeros_like(np.asarray(t, dtype=np.float64)), t)

    def to_dict(self) -> dict:
        """Fields by name (SI units)."""
        return dataclasses.asdict(self)


def pim_default() -> MTJModel:
    """Perpendicular CoFeB/MgO MTJ for computational sub-arrays (default preset).

    TMR0 = 150 % (CoFeB/MgO pMTJs reach 120-150 % at room temperature: Ikeda et al., Nat. Mater. 9, 721
    (2010) report 124 %); V_h = 0.5 V (Zhang et al., IEEE TED 59, 819 (2012)); Delta = 60 and Ic0 = 50 uA
    (Delta >= 60 is the usual retention spec of a Mb array, Khvalkovskiy et al., J. Phys. D 46, 074001 (2013);
    Ikeda 2010: Ic0 = 49 uA); R_P = 5 kohm and a lognormal spread of 5 % in both states are assumed
    (typical of the values used in MRAM sensing studies), not taken from one measurement.
    """
    return MTJModel(r_p=5e3, tmr0=1.5, sigma_p=0.05, sigma_ap=0.05, v_h=0.5, delta=60.0, ic0=50e-6,
                    name="pim_default", source="TMR Ikeda 2010 (Nat. Mater. 9, 721); V_h Zhang 2012 (IEEE TED 59, "
                    "819); Delta, Ic0 Khvalkovskiy 2013 / Ikeda 2010; R_P and 5 % lognormal spread assumed")


def ikeda2010() -> MTJModel:
    """The 40 nm perpendicular CoFeB/MgO MTJ of Ikeda et al., Nat. Mater. 9, 721 (2010).

    TMR0 = 124 %, Delta = 40, Ic0 = 49 uA from the paper; R_P = 5 kohm, V_h = 0.5 V (Zhang 2012) and a 5 %
    lognormal spread are assumed. Delta = 40 gives retention failures within months at 300 K.
    """
    return MTJModel(r_p=5e3, tmr0=1.24, sigma_p=0.05, sigma_ap=0.05, v_h=0.5, delta=40.0, ic0=49e-6,
                    name="ikeda2010", source="Ikeda et al., Nat. Mater. 9, 721 (2010): TMR, Delta, Ic0; "
                    "R_P, V_h and spread assumed")


def low_tmr() -> MTJModel:
    """Worst-case sensing corner: TMR0 = 50 % (the low-TMR worst case of Bian et al., "Investigation of
    PVT-aware STT-MRAM sensing circuits for low-VDD scenario", Micromachines, 2021), rest as :func:`pim_default`."""
    return pim_default().replace(tmr0=0.5, name="low_tmr",
                                 source="TMR worst case of Bian et al., Micromachines (2021); rest as pim_default")


MTJ_PRESETS = {"pim_default": pim_default, "ikeda2010": ikeda2010, "low_tmr": low_tmr}


def mtj_preset(name: str) -> MTJModel:
    """Return a built-in MTJ model by name (see :data:`MTJ_PRESETS`)."""
    try:
        return MTJ_PRESETS[name]()
    except KeyError:
        raise ConfigError(f"unknown MTJ preset {name!r}; known presets: {', '.join(sorted(MTJ_PRESETS))}") from None
