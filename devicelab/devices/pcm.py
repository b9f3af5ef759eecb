"""PCM compact model: programming noise, conductance drift, 1/f read noise, temperature, read I-V.

Units: conductances in S, times in s, temperatures in K, activation energy in eV, voltages in V.

The model follows the statistics of Nandakumar et al. 2018 / Joshi et al. 2020 as implemented in IBM
aihwkit's ``PCMLikeNoiseModel``, in SI units, with every coefficient a named, fittable parameter:

- programming:  G_prog = G_target + sigma_prog(G_target) * N(0, 1),
  sigma_prog(G) = sum_k c_k (G/g_max)^k  (a polynomial; coefficients in S)
- drift:        G(t) = G_prog * (t_eff / t0)^-nu for t_eff > t0, else G_prog;
  nu ~ |N(mu_nu(G_target), sigma_nu(G_target))| drawn once per device,
  mu_nu(G) = clip(a0 + a1 ln(G/g_max), lo, hi), sigma_nu likewise (:class:`LogLinearClip`)
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
from dataclasses import dataclass, field

import numpy as np

from devicelab.errors import ConfigError

K_BOLTZMANN_EV = 8.617333262e-5  # eV/K
#: Smallest relative conductance used inside logarithms and power laws (G/g_max).
G_REL_FLOOR = 1e-3


@dataclass(frozen=True)
class LogLinearClip:
    """y(G) = clip(a0 + a1 ln(G/g_max), lo, hi): the G dependence of the drift-exponent mean and spread.

    ``a0``, ``lo``, ``hi`` are in the units of y (dimensionless for nu); ``a1`` per natural-log unit.
    """

    a0: float
    a1: float
    lo: float = 0.0
    hi: float = np.inf

    def __post_init__(self):
        if not self.lo <= self.hi:
            raise ConfigError(f"LogLinearClip: lo={self.lo} must not exceed hi={self.hi}")

    def __call__(self, g_rel: np.ndarray) -> np.ndarray:
        """Evaluate at relative conductance ``g_rel`` = G/g_max (floored at G_REL_FLOOR)."""
        g_rel = np.maximum(np.abs(g_rel), G_REL_FLOOR)
        return np.clip(self.a0 + self.a1 * np.log(g_rel), self.lo, self.hi)


@dataclass(frozen=True)
class PowerLawClip:
    """Q(G) = min(c / (G/g_max)^exponent, q_max): relative 1/f read-noise amplitude (dimensionless)."""

    c: float
    exponent: float
    q_max: float = np.inf

    def __call__(self, g_rel: np.ndarray) -> np.ndarray:
        """Evaluate at relative conductance ``g_rel`` = G/g_max (floored at G_REL_FLOOR)."""
        g_rel = np.maximum(np.abs(g_rel), G_REL_FLOOR)
        return np.minimum(self.c / g_rel**self.exponent, self.q_max)


@dataclass(frozen=True)
class PCMModel:
    """Statistical PCM compact model (see module docstring for the equations).

    Attributes
    ----------
    g_max : float
        Largest target conductance, S; the normalization of all G-dependent laws.
    prog_coeffs : tuple of float
        Polynomial coefficients of sigma_prog in powers of G/g_max, in S (lowest order first).
    nu_mean, nu_std : LogLinearClip
        Mean and spread of the per-device drift exponent as functions of G_target.
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
    """

    g_max: float
    prog_coeffs: tuple[float, ...]
    nu_mean: LogLinearClip
    nu_std: LogLinearClip
    read_noise: PowerLawClip
    t0: float = 20.0
    t_read: float = 250e-9
    activation_energy: float | None = None
    t_ref_temperature: float = 300.0
    v0: float | None = None
    g_max_clip: float | None = None
    name: str = "custom"
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
        g_rel = np.asarray(g_target, dtype=float) / self.g_max
        return np.maximum(np.polynomial.polynomial.polyval(g_rel, self.prog_coeffs), 0.0)

    def nu_stats(self, g_target) -> tuple[np.ndarray, np.ndarray]:
        """Mean and spread of the drift exponent at ``g_target`` (S); dimensionless."""
        g_rel = np.asarray(g_target, dtype=float) / self.g_max
        return self.nu_mean(g_rel), self.nu_std(g_rel)

    def q_s(self, g) -> np.ndarray:
        """Relative 1/f read-noise amplitude at conductance ``g`` (S); dimensionless."""
        return self.read_noise(np.asarray(g, dtype=float) / self.g_max)

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
        g_prog = self.program(g_target, rng)
        nu = self.drift_exponents(g_target, rng)
        return np.stack([self.read(g_prog, nu, ti, rng, temperature) for ti in times])

    # ----------------------------------------------------------------- serialization
    def to_dict(self) -> dict:
        """Plain-dict form (JSON/HDF5 friendly); inverse of :meth:`from_dict`."""
        out = dataclasses.asdict(self)
        out["prog_coeffs"] = list(self.prog_coeffs)
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
            data["nu_mean"] = LogLinearClip(**data["nu_mean"])
            data["nu_std"] = LogLinearClip(**data["nu_std"])
            data["read_noise"] = PowerLawClip(**data["read_noise"])
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
        t0=20.0,
        t_read=250e-9,
        name="joshi2020",
    )


PRESETS = {"joshi2020": joshi2020}


def preset(name: str) -> PCMModel:
    """Return a built-in PCM model by name (see :data:`PRESETS`)."""
    try:
        return PRESETS[name]()
    except KeyError:
        raise ConfigError(f"unknown PCM preset {name!r}; known presets: {', '.join(sorted(PRESETS))}") from None
