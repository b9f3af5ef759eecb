"""PCM compact model: programming noise, conductance drift, 1/f read noise, temperature, read I-V.

Units: conductances in S, times in s, temperatures in K, activation energy in eV, voltages in V.

The model follows the statistics of Nandakumar et al. 2018 / Joshi et al. 2020 as implemented in IBM
aihwkit's ``PCMLikeNoiseModel``, in SI units, with every coefficient a named, fittable parameter:

- programming:  G_prog = G_target + sigma_prog(G_target) * N(0, 1),
  sigma_prog(G) = sum_k c_k (G/g_max)^k  (a polynomial; coefficients in S)
- drift:        G(t) = G_prog * (t_eff / t0)^-nu for t_eff > t0, else G_prog;
  nu ~ |N(mu_nu(G_target), sigma_nu(G_target))| drawn once per device,
  mu_nu(G) and sigma_nu(G) are drift laws of :mod:`devicelab.devices.laws` (log-linear as in aihwkit,
  linear or quadratic in G, or a monotone PCHIP spline), the family chosen by the fit
- temperature:  t_eff = t * exp(Ea/k_B (1/T_ref - 1/T))  (Arrhenius acceleration; off when Ea is None)
- read noise:   G_read = G(t) + |G(t)| * Q_s(G_prog) * sqrt(ln((t + t_read) / (2 t_read))) * N(0, 1),
  Q_s(G) = min(q_c / (G/g_max)^q_exp, q_max), a fresh draw on every read
- clipping:     results are clipped to [0, g_max_clip] (g_max_clip defaults to 2 g_max).
- read I-V:     I = G V0 sinh(V / V0); V0 = None means ohmic.

Devices are programmed once and read at many times: :meth:`PCMModel.program` and
:meth:`PCMModel.drift_exponents` are called once per array, :meth:`PCMModel.read` per read time.
No method changes its inputs; all randomness comes from the ``rng`` argument.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field

import numpy as np

from devicelab.devices.constants import G_REL_FLOOR, K_BOLTZMANN_EV, T0, T_READ, T_REF_TEMPERATURE  # noqa: F401
from devicelab.devices.laws import (  # noqa: F401
    DRIFT_LAWS,
    LinearClip,
    LogLinearClip,
    PchipLaw,
    PowerLawClip,
    QuadraticClip,
    drift_law_from_dict,
    polynomial,
    power_law_from_dict,
)
from devicelab.errors import ConfigError, ValidityRangeWarning


@dataclass(frozen=True)
class PCMModel:
    """Statistical PCM compact model (see module docstring for the equations).

    Attributes
    ----------
    g_max : float
        Largest target conductance, S; the normalization of all G-dependent laws.
    prog_coeffs : tuple of float
        Polynomial coefficients of sigma_prog in powers of G/g_max, in S (lowest order first).
    nu_mean, nu_std : drift law (LogLinearClip, LinearClip, QuadraticClip or PchipLaw)
        Mean and spread of the per-device drift exponent as functions of G_target/g_max.
    read_noise : PowerLawClip
        Relative 1/f read-noise amplitude Q_s(G).
    t0 : float
        Reference time of drift, s: G_prog is the conductance read at t0 after programming.
    t_read : float
        Duration of one read, s (sets the low-frequency cut of accumulated 1/f noise).
    activation_energy : float or None
        Arrhenius activation energy of drift, eV; None disables temperature acceleration.
    t_ref_temperature : float
        Temperature at which the drift laws hold without acceleration, K.
    v0 : float or None
        Read I-V nonlinearity scale, V, in I = G V0 sinh(V/V0); None means ohmic devices.
    g_max_clip : float or None
        Upper clip of sampled conductances, S (None: 2 g_max). The lower clip is always 0 S.
    name : str
        Free-text label (preset name or fit source); not used in computations.
    g_range : tuple of float or None
        Range (g_lo, g_hi) of target conductances, S, the laws were fitted on (None: not stated, e.g. a
        preset). :meth:`sample` warns (:class:`ValidityRangeWarning`) for non-zero targets outside it.
    """

    g_max: float
    prog_coeffs: tuple[float, ...]
    nu_mean: LogLinearClip | LinearClip | QuadraticClip | PchipLaw
    nu_std: LogLinearClip | LinearClip | QuadraticClip | PchipLaw
    read_noise: PowerLawClip
    t0: float = T0
    t_read: float = T_READ
    activation_energy: float | None = None
    t_ref_temperature: float = T_REF_TEMPERATURE
    v0: float | None = None
    g_max_clip: float | None = None
    name: str = "custom"
    g_range: tuple[float, float] | None = None
    uncertainties: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        checks = [
            (self.g_max > 0, f"g_max must be > 0 S, got {self.g_max}"),
            (len(self.prog_coeffs) >= 1, "prog_coeffs needs at least one coefficient"),
            (self.t0 > 0, f"t0 must be > 0 s, got {self.t0}"),
            (self.t_read > 0, f"t_read must be > 0 s, got {self.t_read}"),
            (self.t_ref_temperature > 0, f"t_ref_temperature must be > 0 K, got {self.t_ref_temperature}"),
            (self.v0 is None or self.v0 > 0, f"v0 must be > 0 V or None, got {self.v0}"),
            (self.activation_energy is None or self.activation_energy >= 0,
             f"activation_energy must be >= 0 eV or None, got {self.activation_energy}"),
        ]
        if self.g_range is not None:
            g_range = tuple(float(g) for g in self.g_range)
            checks.append((len(g_range) == 2 and 0 <= g_range[0] <= g_range[1],
                           f"g_range must be (g_lo, g_hi) with 0 <= g_lo <= g_hi in S, got {self.g_range}"))
            object.__setattr__(self, "g_range", g_range)
        for key in ("nu_mean", "nu_std"):
            law = getattr(self, key)
            checks.append((isinstance(law, tuple(DRIFT_LAWS.values())),
                           f"{key} must be a drift law of devicelab.devices.laws, got {type(law).__name__}"))
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"PCMModel: {message}")
        object.__setattr__(self, "prog_coeffs", tuple(float(c) for c in self.prog_coeffs))

    # ----------------------------------------------------------------- deterministic laws
    @property
    def g_clip(self) -> float:
        """Upper clip of sampled conductances, S."""
        return 2.0 * self.g_max if self.g_max_clip is None else self.g_max_clip

    def sigma_prog(self, g_target) -> np.ndarray:
        """Programming-noise standard deviation at ``g_target`` (S), in S; never negative."""
        return np.maximum(polynomial(np.asarray(g_target, dtype=float) / self.g_max, self.prog_coeffs), 0.0)

    def nu_stats(self, g_target) -> tuple[np.ndarray, np.ndarray]:
        """Mean and spread of the drift exponent at ``g_target`` (S); dimensionless."""
        g_rel = np.asarray(g_target, dtype=float) / self.g_max
        return self.nu_mean(g_rel), self.nu_std(g_rel)

    def q_s(self, g) -> np.ndarray:
        """Relative 1/f read-noise amplitude at conductance ``g`` (S); dimensionless."""
        return self.read_noise(np.asarray(g, dtype=float) / self.g_max)

    def check_range(self, g_target, what: str = "targets") -> None:
        """Warn (:class:`ValidityRangeWarning`) when non-zero ``g_target`` (S) lie outside :attr:`g_range`."""
        if self.g_range is None:
            return
        g = np.abs(np.asarray(g_target, dtype=float))
        lo, hi = self.g_range
        outside = g[(g > 0) & ((g < lo * (1 - 1e-9)) | (g > hi * (1 + 1e-9)))]
        if outside.size:
            warnings.warn(f"model '{self.name}' was fitted to G_target in [{lo:.3g}, {hi:.3g}] S; {outside.size} "
                          f"{what} lie outside (e.g. {outside[0]:.3g} S): sampling there extrapolates the fitted laws "
                          f"(untested); map weights into the fitted range", ValidityRangeWarning,
                          stacklevel=3)

    def effective_time(self, t, temperature=None) -> np.ndarray:
        """Time since programming (s) at ``temperature`` (K) converted to equivalent time at T_ref, s."""
        t = np.asarray(t, dtype=float)
        if temperature is None or self.activation_energy is None:
            return t
        temperature = np.asarray(temperature, dtype=float)
        if np.any(temperature <= 0):
            raise ConfigError("temperature must be > 0 K")
        factor = np.exp(self.activation_energy / K_BOLTZMANN_EV * (1.0 / self.t_ref_temperature - 1.0 / temperature))
        return t * factor

    def drift(self, g_prog, nu, t, temperature=None) -> np.ndarray:
        """Drifted conductance (S) of devices programmed to ``g_prog`` (S) with exponents ``nu`` at time ``t`` (s).

        No noise is added; ``t`` may be a scalar or broadcast against ``g_prog``. For t_eff <= t0 the
        conductance is ``g_prog`` (the model is referenced to the read at t0).
        """
        t_eff = self.effective_time(t, temperature)
        ratio = np.maximum(t_eff / self.t0, 1.0)
        return np.asarray(g_prog, dtype=float) * ratio ** (-np.asarray(nu, dtype=float))

    def read_noise_sigma(self, g_prog, t) -> np.ndarray:
        """Relative standard deviation of a read at time ``t`` (s) of a device programmed to ``g_prog`` (S).

        Zero at t = 0 (no 1/f noise has accumulated yet); grows like sqrt(ln(t / t_read)).
        """
        t = np.asarray(t, dtype=float)
        log_term = np.log(np.maximum((t + self.t_read) / (2.0 * self.t_read), 1.0))
        return self.q_s(g_prog) * np.sqrt(log_term)

    def current(self, g, v) -> np.ndarray:
        """Read current (A) of a device of low-field conductance ``g`` (S) at voltage ``v`` (V)."""
        g = np.asarray(g, dtype=float)
        v = np.asarray(v, dtype=float)
        if self.v0 is None:
            return g * v
        return g * self.v0 * np.sinh(v / self.v0)

    # ----------------------------------------------------------------- stochastic sampling
    def program(self, g_target, rng: np.random.Generator) -> np.ndarray:
        """Programmed conductances (S) for targets ``g_target`` (S), clipped to [0, g_clip]."""
        g_target = np.asarray(g_target, dtype=float)
        g_prog = g_target + self.sigma_prog(g_target) * rng.standard_normal(g_target.shape)
        return np.clip(g_prog, 0.0, self.g_clip)

    def drift_exponents(self, g_target, rng: np.random.Generator) -> np.ndarray:
        """Per-device drift exponents nu (dimensionless, >= 0) for targets ``g_target`` (S)."""
        mean, std = self.nu_stats(g_target)
        return np.abs(mean + std * rng.standard_normal(np.shape(mean)))

    def read(self, g_prog, nu, t, rng: np.random.Generator, temperature=None) -> np.ndarray:
        """One noisy read (S) at time ``t`` (s) of devices with programmed ``g_prog`` (S) and exponents ``nu``."""
        g_drift = self.drift(g_prog, nu, t, temperature)
        sigma = self.read_noise_sigma(g_prog, self.effective_time(t, temperature))
        g_read = g_drift + np.abs(g_drift) * sigma * rng.standard_normal(g_drift.shape)
        return np.clip(g_read, 0.0, self.g_clip)

    def sample(self, g_target, t, rng: np.random.Generator, temperature=None) -> np.ndarray:
        """Program devices to ``g_target`` (S) once and read them at each time in ``t`` (s).

        Returns an array of shape ``(len(t),) + g_target.shape`` of conductances in S.
        """
        g_target = np.asarray(g_target, dtype=float)
        times = np.atleast_1d(np.asarray(t, dtype=float))
        if np.any(times < 0):
            raise ConfigError("read times must be >= 0 s")
        self.check_range(g_target)
        g_prog = self.program(g_target, rng)
        nu = self.drift_exponents(g_target, rng)
        return np.stack([self.read(g_prog, nu, ti, rng, temperature) for ti in times])

    # ----------------------------------------------------------------- serialization
    def to_dict(self) -> dict:
        """Plain-dict form (JSON/HDF5 friendly); inverse of :meth:`from_dict`."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["prog_coeffs"] = list(self.prog_coeffs)
        out["uncertainties"] = dict(self.uncertainties)
        for key in ("nu_mean", "nu_std", "read_noise"):
            out[key] = out[key].to_dict()
        if self.g_range is not None:
            out["g_range"] = list(self.g_range)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "PCMModel":
        """Build a model from :meth:`to_dict` output; raises ConfigError on unknown or missing fields."""
        data = dict(data)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"PCMModel: unknown fields {sorted(unknown)}")
        try:
            data["nu_mean"] = drift_law_from_dict(data["nu_mean"])
            data["nu_std"] = drift_law_from_dict(data["nu_std"])
            data["read_noise"] = power_law_from_dict(data["read_noise"])
            if data.get("g_range") is not None:
                data["g_range"] = tuple(data["g_range"])
            return cls(**data)
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"PCMModel: incomplete or malformed description ({exc})") from exc

    def replace(self, **changes) -> "PCMModel":
        """A copy with some fields changed (e.g. ``model.replace(activation_energy=None)``)."""
        return dataclasses.replace(self, **changes)


def joshi2020() -> PCMModel:
    """The PCM statistics of Joshi et al. 2020 (Nat. Commun. 11, 2473) as used in IBM aihwkit.

    g_max = 25 uS; sigma_prog = (0.26348 + 1.9650 x - 1.1731 x^2) uS with x = G/g_max;
    mu_nu = clip(-0.0155 ln x + 0.0244, 0.049, 0.1); sigma_nu = clip(-0.0125 ln x - 0.0059, 0.008, 0.045);
    Q_s = min(0.0088 / x^0.65, 0.2); t_read = 250 ns; t0 = 20 s.
    """
    micro = 1e-6
    return PCMModel(
        g_max=25 * micro,
        prog_coeffs=(0.26348 * micro, 1.9650 * micro, -1.1731 * micro),
        nu_mean=LogLinearClip(a0=0.0244, a1=-0.0155, lo=0.049, hi=0.1),
        nu_std=LogLinearClip(a0=-0.0059, a1=-0.0125, lo=0.008, hi=0.045),
        read_noise=PowerLawClip(c=0.0088, exponent=0.65, q_max=0.2),
        t0=T0,
        t_read=T_READ,
        name="joshi2020",
    )


PRESETS = {"joshi2020": joshi2020}


def preset(name: str) -> PCMModel:
    """Return a built-in PCM model by name (see :data:`PRESETS`)."""
    try:
        return PRESETS[name]()
    except KeyError:
        raise ConfigError(f"unknown PCM preset {name!r}; known presets: {', '.join(sorted(PRESETS))}") from None
