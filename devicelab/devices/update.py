"""Conductance-update (programming-pulse) models: how one SET or RESET pulse changes a device's conductance.

Units: conductances and steps in S; pulse counts dimensionless.

One pulse of polarity p (SET = +1, RESET = -1) changes a device of conductance G by

    dG = p * (s_dev * m_p(x) + sigma_p(G) * N(0, 1)),   then G is clipped to [g_min, g_max]

- m_p(x) >= 0 is the mean step magnitude (:class:`StepLaw`), a function of either the conductance G or the
  number n of same-polarity pulses since the last pulse of the other polarity (or RESET) -- PCM's cumulative
  SET depends on the crystallization history, so n is a state variable of its own. Families, with u the
  normalized variable (u = (G - g_lo)/(g_hi - g_lo) or u = n / n_ref):
    soft-bounds   m = alpha * (1 - beta u)     (beta = 1: the classic soft bound reached at u = 1)
    exponential   m = alpha * exp(-beta u)
    power-law     m = alpha * (G / g_hi)^gamma  or  alpha * ((n + 1) / n_ref)^gamma
- sigma_p = max(s0 + s1 u, 0) is the cycle-to-cycle (pulse-to-pulse) spread (:class:`SpreadLaw`), linear in
  the normalized G or n.
- s_dev ~ max(1 + d2d N(0, 1), 0) is a per-device scale of the mean step, drawn once (device-to-device spread).
- RESET is either gradual (a StepLaw like SET) or abrupt (:class:`AbruptReset`): one pulse melts the cell
  and leaves G ~ N(g_reset, g_reset_std), the PCM case; PCM synapses are then updated with SET pulses only.

Nothing here changes its inputs; randomness only comes from the ``rng`` argument.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from devicelab.errors import ConfigError
from devicelab.measurements.pulses import RESET, SET  # noqa: F401  (polarity codes defined once, re-exported)

FAMILIES = ("soft-bounds", "exponential", "power-law")
VARIABLES = ("g", "n")


@dataclass(frozen=True)
class StepLaw:
    """Mean step magnitude m(G or n) >= 0 of one polarity, in S (see module docstring for the families).

    Attributes
    ----------
    family : str
        One of :data:`FAMILIES`.
    variable : str
        ``"g"`` (conductance) or ``"n"`` (pulses of this polarity since the other polarity / RESET).
    alpha : float
        Step scale, S.
    shape : float
        beta (soft-bounds, exponential) or gamma (power-law), dimensionless.
    g_lo, g_hi : float
        Conductance normalization, S (u = (G - g_lo) / (g_hi - g_lo); power-law uses G / g_hi).
    n_ref : float
        Pulse-count normalization (u = n / n_ref), dimensionless.
    """

    family: str
    variable: str
    alpha: float
    shape: float
    g_lo: float
    g_hi: float
    n_ref: float = 100.0

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise ConfigError(f"StepLaw: unknown family {self.family!r}; known: {', '.join(FAMILIES)}")
        if self.variable not in VARIABLES:
            raise ConfigError(f"StepLaw: variable must be 'g' or 'n', got {self.variable!r}")
        if not (self.alpha >= 0 and np.isfinite(self.shape)):
            raise ConfigError(f"StepLaw: alpha must be >= 0 S and shape finite, got {self.alpha}, {self.shape}")
        if not (0 <= self.g_lo < self.g_hi and self.n_ref > 0):
            raise ConfigError(f"StepLaw: need 0 <= g_lo < g_hi (S) and n_ref > 0, got {self.g_lo}, {self.g_hi}, "
                              f"{self.n_ref}")

    def __call__(self, g=None, n=None) -> np.ndarray:
        """Mean step magnitude (S) at conductance ``g`` (S) or pulse count ``n``, whichever the law uses."""
        if self.variable == "g":
            if g is None:
                raise ConfigError("StepLaw on 'g' needs the conductance")
            return step_magnitude(self.family, self.alpha, self.shape, self.normalize(g),
                                  np.asarray(g, float) / self.g_hi)
        if n is None:
            raise ConfigError("StepLaw on 'n' needs the pulse count since the last reversal/RESET")
        n = np.asarray(n, float)
        return step_magnitude(self.family, self.alpha, self.shape, n / self.n_ref, (n + 1.0) / self.n_ref)

    def normalize(self, g) -> np.ndarray:
        """u = (G - g_lo) / (g_hi - g_lo) for conductance ``g`` in S (dimensionless)."""
        return (np.asarray(g, float) - self.g_lo) / (self.g_hi - self.g_lo)


def step_magnitude(family: str, alpha, shape, u, ratio) -> np.ndarray:
    """The family formulas: ``u`` is the normalized variable, ``ratio`` the power-law base; result in S, >= 0."""
    if family == "soft-bounds":
        out = alpha * (1.0 - shape * u)
    elif family == "exponential":
        out = alpha * np.exp(-shape * u)
    elif family == "power-law":
        out = alpha * np.maximum(ratio, 1e-6) ** shape
    else:
        raise ConfigError(f"unknown step-law family {family!r}")
    return np.maximum(out, 0.0)


@dataclass(frozen=True)
class SpreadLaw:
    """Cycle-to-cycle step spread sigma = max(s0 + s1 u, 0), S, linear in u = (G - g_lo) / (g_hi - g_lo)
    (``variable`` "g") or in u = n / n_ref (``variable`` "n", pulses since the last reversal/RESET)."""

    s0: float
    s1: float
    g_lo: float
    g_hi: float
    variable: str = "g"
    n_ref: float = 100.0

    def __post_init__(self):
        if not (np.isfinite(self.s0) and np.isfinite(self.s1) and self.g_lo < self.g_hi and self.n_ref > 0
                and self.variable in VARIABLES):
            raise ConfigError(f"SpreadLaw: need finite s0, s1 (S), g_lo < g_hi, n_ref > 0, variable g or n; "
                              f"got {self}")

    def __call__(self, g, n=None) -> np.ndarray:
        """Step standard deviation (S) at conductance ``g`` (S) and pulse count ``n`` (default 0)."""
        if self.variable == "g":
            u = (np.asarray(g, float) - self.g_lo) / (self.g_hi - self.g_lo)
        else:
            u = np.zeros(np.shape(g)) if n is None else np.asarray(n, float) / self.n_ref
        return np.maximum(self.s0 + self.s1 * u, 0.0)


@dataclass(frozen=True)
class AbruptReset:
    """Abrupt (melt-quench) RESET: one pulse leaves G ~ N(g_reset, g_reset_std) clipped at >= 0; both in S."""

    g_reset: float
    g_reset_std: float = 0.0

    def __post_init__(self):
        if not (self.g_reset >= 0 and self.g_reset_std >= 0):
            raise ConfigError(f"AbruptReset: g_reset and g_reset_std must be >= 0 S, got {self}")


@dataclass(frozen=True)
class UpdateModel:
    """Pulse-update model of one device type (see module docstring for the equations).

    Attributes
    ----------
    g_min, g_max : float
        Conductance range the device stays in (hard clip), S.
    set_step : StepLaw
        Mean SET step magnitude.
    set_spread : SpreadLaw
        Cycle-to-cycle spread of SET steps.
    reset_step, reset_spread : StepLaw, SpreadLaw or None
        Gradual RESET (None when RESET is abrupt).
    abrupt_reset : AbruptReset or None
        Abrupt RESET (None when RESET is gradual).
    d2d : float
        Relative device-to-device spread of the mean step scale (dimensionless std of s_dev).
    read_noise : float
        Standard deviation of one read of a device, S (additive; used by the analog tiles in training).
    name : str
        Preset name or fit source; not used in computations.
    """

    g_min: float
    g_max: float
    set_step: StepLaw
    set_spread: SpreadLaw
    reset_step: StepLaw | None = None
    reset_spread: SpreadLaw | None = None
    abrupt_reset: AbruptReset | None = None
    d2d: float = 0.0
    read_noise: float = 0.0
    name: str = "custom"

    def __post_init__(self):
        if not 0 <= self.g_min < self.g_max:
            raise ConfigError(f"UpdateModel: need 0 <= g_min < g_max (S), got {self.g_min}, {self.g_max}")
        gradual = self.reset_step is not None and self.reset_spread is not None
        if gradual == (self.abrupt_reset is not None):
            raise ConfigError("UpdateModel: give either a gradual RESET (reset_step + reset_spread) or abrupt_reset")
        if not (self.d2d >= 0 and self.read_noise >= 0):
            raise ConfigError(f"UpdateModel: d2d and read_noise must be >= 0, got {self.d2d}, {self.read_noise}")

    @property
    def unidirectional(self) -> bool:
        """True when RESET is abrupt: weights are then changed with SET pulses only (PCM)."""
        return self.abrupt_reset is not None

    def nominal_step(self) -> float:
        """Mean SET step (S) of a fresh device at g_min, n = 0: the device granularity epsilon in S."""
        return float(self.set_step(g=self.g_min, n=0))

    def device_scales(self, shape, rng: np.random.Generator) -> np.ndarray:
        """Per-device mean-step scale factors s_dev (dimensionless, >= 0), drawn once per device."""
        return np.maximum(1.0 + self.d2d * rng.standard_normal(shape), 0.0)

    def mean_step(self, polarity: int, g, n) -> np.ndarray:
        """Signed mean step (S) of one pulse of ``polarity`` at conductance ``g`` (S), pulse count ``n``."""
        if polarity == SET:
            return self.set_step(g=g, n=n)
        if self.reset_step is None:
            raise ConfigError("mean_step: this model's RESET is abrupt; it has no step law")
        return -self.reset_step(g=g, n=n)

    def pulse(self, g, polarity: int, rng: np.random.Generator, n=None, scale=None) -> np.ndarray:
        """Conductance (S) after one pulse of ``polarity`` on devices at ``g`` (S).

        ``n``: same-polarity pulses since the last reversal/RESET (needed by n-laws; default 0);
        ``scale``: per-device step scales from :meth:`device_scales` (default 1).
        """
        g = np.asarray(g, float)
        n = np.zeros(g.shape) if n is None else n
        scale = 1.0 if scale is None else scale
        if polarity == RESET and self.abrupt_reset is not None:
            ar = self.abrupt_reset
            return np.clip(ar.g_reset + ar.g_reset_std * rng.standard_normal(g.shape), 0.0, self.g_max)
        if polarity == SET:
            step_law, spread = self.set_step, self.set_spread
        elif self.reset_step is not None and self.reset_spread is not None:
            step_law, spread = self.reset_step, self.reset_spread
        elif polarity != RESET:  # an abrupt-RESET model and a polarity that is neither SET nor RESET
            raise ConfigError(f"pulse: polarity must be SET ({SET}) or RESET ({RESET}), got {polarity!r}")
        else:  # not reached: __post_init__ requires abrupt_reset or both gradual laws
            raise ConfigError("pulse: this model has neither a gradual RESET (reset_step + reset_spread) "
                              "nor abrupt_reset")
        dg = scale * step_law(g=g, n=n) + spread(g, n) * rng.standard_normal(g.shape)
        return np.clip(g + polarity * dg, self.g_min, self.g_max)

    def apply_pulses(self, g, n_pulses, polarity: int, rng: np.random.Generator, n=None, scale=None):
        """Apply ``n_pulses`` (int array, >= 0, per device) pulses of one ``polarity``; vectorized.

        Returns ``(g_new, n_new)``: conductances (S) and the updated same-polarity pulse counts. Devices with
        zero pulses are unchanged (and draw no noise).
        """
        g = np.array(g, dtype=float)
        n_pulses = np.broadcast_to(np.asarray(n_pulses, np.int64), g.shape)
        if np.any(n_pulses < 0):
            raise ConfigError("apply_pulses: pulse counts must be >= 0")
        n = np.zeros(g.shape) if n is None else np.array(n, dtype=float)
        scale = np.broadcast_to(1.0 if scale is None else np.asarray(scale, float), g.shape)
        for k in range(int(n_pulses.max(initial=0))):
            idx = np.nonzero(n_pulses > k)
            g[idx] = self.pulse(g[idx], polarity, rng, n=n[idx], scale=scale[idx])
            n[idx] += 1
        return g, n

    def trajectory(self, n_pulses: int, polarity: int, g_start: float, rng: np.random.Generator | None = None,
                   n_devices: int = 1) -> np.ndarray:
        """Conductance (S) after 0..n_pulses pulses from ``g_start`` (S); mean law only when ``rng`` is None.

        Returns an array of shape (n_pulses + 1, n_devices).
        """
        g = np.full(n_devices, float(g_start))
        n = np.zeros(n_devices)
        out = [g.copy()]
        for _ in range(n_pulses):
            if rng is None:
                if polarity == RESET and self.abrupt_reset is not None:
                    g = np.full(n_devices, self.abrupt_reset.g_reset)
                else:
                    g = np.clip(g + self.mean_step(polarity, g, n), self.g_min, self.g_max)
            else:
                g = self.pulse(g, polarity, rng, n=n)
            n = n + 1
            out.append(g.copy())
        return np.stack(out)

    # ----------------------------------------------------------------- serialization
    def to_dict(self) -> dict:
        """Plain-dict form (JSON/HDF5 friendly); inverse of :meth:`from_dict`."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "UpdateModel":
        """Build a model from :meth:`to_dict` output; raises ConfigError on malformed input."""
        try:
            data = dict(data)
            for key, kind in (("set_step", StepLaw), ("set_spread", SpreadLaw), ("reset_step", StepLaw),
                              ("reset_spread", SpreadLaw), ("abrupt_reset", AbruptReset)):
                if data.get(key) is not None:
                    data[key] = kind(**data[key])
            return cls(**data)
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"UpdateModel: incomplete or malformed description ({exc})") from exc

    def replace(self, **changes) -> "UpdateModel":
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


def nandakumar2018() -> UpdateModel:
    """A PCM update preset after Nandakumar et al. 2018 (J. Appl. Phys. 124, 152135) and 2020 (Front. Neurosci.).

    Doped-GST mushroom cells programmed with identical SET pulses: the mean SET step falls with G
    (cumulative crystallization saturates near ~20 uS), the step spread is comparable to the mean step
    (strongly stochastic), ~20 % device-to-device variation of the step size, and RESET is abrupt
    (melt-quench to ~0.1 uS). The numbers are rounded values read from the published figures (not a fit
    to the original data): m(G) = 1.0 uS * exp(-2.5 u), sigma(G) = (0.6 - 0.3 u) uS, u = G / 20 uS,
    read noise 0.2 uS (about 1 % of the range).
    """
    micro = 1e-6
    g_lo, g_hi = 0.0, 20 * micro
    return UpdateModel(
        g_min=0.0,
        g_max=g_hi,
        set_step=StepLaw("exponential", "g", alpha=1.0 * micro, shape=2.5, g_lo=g_lo, g_hi=g_hi),
        set_spread=SpreadLaw(s0=0.6 * micro, s1=-0.3 * micro, g_lo=g_lo, g_hi=g_hi),
        abrupt_reset=AbruptReset(g_reset=0.1 * micro, g_reset_std=0.05 * micro),
        d2d=0.2,
        read_noise=0.2 * micro,
        name="nandakumar2018",
    )


UPDATE_PRESETS = {"nandakumar2018": nandakumar2018}

# --------------------------------------------------------------------------- model file group
#: Name and version of the optional update-model group inside a "devicelab.device_model" HDF5 file.
UPDATE_GROUP = "update_model"
UPDATE_GROUP_VERSION = 1
#: Units of every stored number, by field name (dimensionless: "1").
_UNITS = {"g_min": "S", "g_max": "S", "d2d": "1", "read_noise": "S", "alpha": "S", "shape": "1", "g_lo": "S",
          "g_hi": "S", "n_ref": "1", "s0": "S", "s1": "S", "g_reset": "S", "g_reset_std": "S"}
_PARTS = {"set_step": StepLaw, "set_spread": SpreadLaw, "reset_step": StepLaw, "reset_spread": SpreadLaw,
          "abrupt_reset": AbruptReset}


def write_update_group(h5parent, model: UpdateModel, provenance: dict | None = None):
    """Write ``model`` as the group ``update_model`` of an open HDF5 file/group (replacing an old one).

    Layout: scalar datasets with a ``units`` attribute for every number; one subgroup per law
    (``set_step``, ``set_spread`` and either ``reset_step`` + ``reset_spread`` or ``abrupt_reset``), law
    families and variables as attributes; group attributes ``update_version`` and ``provenance`` (JSON).
    """
    import json

    from devicelab.files import write_dataset

    if UPDATE_GROUP in h5parent:
        del h5parent[UPDATE_GROUP]
    grp = h5parent.create_group(UPDATE_GROUP)
    grp.attrs["update_version"] = UPDATE_GROUP_VERSION
    grp.attrs["name"] = model.name
    grp.attrs["provenance"] = json.dumps(provenance or {}, sort_keys=True, default=str)
    for key in ("g_min", "g_max", "d2d", "read_noise"):
        write_dataset(grp, key, float(getattr(model, key)), _UNITS[key])
    for part_name in _PARTS:
        part = getattr(model, part_name)
        if part is None:
            continue
        sub = grp.create_group(part_name)
        for f in dataclasses.fields(part):
            value = getattr(part, f.name)
            if isinstance(value, str):
                sub.attrs[f.name] = value
            else:
                write_dataset(sub, f.name, float(value), _UNITS[f.name])
    return grp


def read_update_group(h5parent, path="<file>") -> UpdateModel:
    """Read the ``update_model`` group written by :func:`write_update_group`; ModelFileError if bad."""
    from devicelab.errors import ModelFileError

    if UPDATE_GROUP not in h5parent:
        raise ModelFileError(f"{path}: no '{UPDATE_GROUP}' group (fit pulse traces to add one)")
    grp = h5parent[UPDATE_GROUP]
    version = grp.attrs.get("update_version")
    if version is None or int(version) != UPDATE_GROUP_VERSION:
        raise ModelFileError(f"{path}: '{UPDATE_GROUP}' version {version!r} is not supported (reads "
                             f"{UPDATE_GROUP_VERSION})")

    def _str(value):
        return value.decode() if isinstance(value, bytes) else str(value)

    try:
        data: dict[str, object] = {key: float(grp[key][()]) for key in ("g_min", "g_max", "d2d", "read_noise")}
        for part_name, kind in _PARTS.items():
            if part_name not in grp:
                continue
            sub = grp[part_name]
            fields: dict[str, str | float] = {}
            for f in dataclasses.fields(kind):
                present = f.name in (sub.attrs if f.type == "str" else sub)
                if not present and f.default is not dataclasses.MISSING:
                    continue  # a field added later with a default
                fields[f.name] = _str(sub.attrs[f.name]) if f.type == "str" else float(sub[f.name][()])
            data[part_name] = fields
        data["name"] = _str(grp.attrs.get("name", "custom"))
        return UpdateModel.from_dict(data)
    except (KeyError, ConfigError) as exc:
        raise ModelFileError(f"{path}: malformed '{UPDATE_GROUP}' group ({exc})") from exc


def save_update_model(path, model: UpdateModel, provenance: dict | None = None) -> None:
    """Store ``model`` in the device model file ``path`` (HDF5, format "devicelab.device_model").

    An existing device model file (e.g. from :func:`devicelab.devices.modelfile.save_model`) keeps all its
    other content (``/model``, ``/fit``, ``/validity``): it is copied, the root group ``update_model`` is
    added or replaced, and the copy renamed over the original (never half-written). A missing file is
    created with the standard header and only this group.
    """
    import shutil
    from pathlib import Path

    import h5py

    from devicelab.devices.modelfile import FORMAT, FORMAT_VERSION, SUPPORTED_VERSIONS
    from devicelab.files import atomic_output, check_header, write_header

    path = Path(path)
    with atomic_output(path, suffix=".h5") as tmp:
        if path.exists():
            shutil.copyfile(path, tmp)
            with h5py.File(tmp, "a") as fh:
                check_header(fh, path, FORMAT, SUPPORTED_VERSIONS)
                write_update_group(fh, model, provenance)
        else:
            with h5py.File(tmp, "w") as fh:
                write_header(fh, FORMAT, FORMAT_VERSION, provenance or {})
                write_update_group(fh, model, provenance)


def load_update_model(path) -> UpdateModel:
    """Read the update model from a device model file (see :func:`save_update_model`)."""
    from pathlib import Path

    import h5py

    from devicelab.devices.modelfile import FORMAT, SUPPORTED_VERSIONS
    from devicelab.errors import ModelFileError
    from devicelab.files import check_header

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: device model file not found")
    try:
        with h5py.File(path, "r") as fh:
            check_header(fh, path, FORMAT, SUPPORTED_VERSIONS)
            return read_update_group(fh, path)
    except OSError as exc:
        raise ModelFileError(f"{path}: not a readable HDF5 file ({exc})") from exc


def update_preset(name: str) -> UpdateModel:
    """Return a built-in update model by name (see :data:`UPDATE_PRESETS`)."""
    try:
        return UPDATE_PRESETS[name]()
    except KeyError:
        raise ConfigError(f"unknown update preset {name!r}; known: {', '.join(sorted(UPDATE_PRESETS))}") from None
