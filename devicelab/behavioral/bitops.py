"""Behavioral model of digital MRAM processing-in-memory bit operations: error probability, energy, latency.

Built from a SPICE Monte Carlo characterization (:func:`~devicelab.spice.pim.characterize_bitops`):

- **error probability per operation and input pattern.** The column's cells are interchangeable, so an input
  pattern enters only through k, the number of stored ones among the activated rows. For each number of rows n
  and each k the sensed bit-line voltage is modelled as Gaussian, V ~ N(mu_k, sigma_k^2), with mu_k and sigma_k
  the sample mean and standard deviation of the SPICE-simulated voltages (device variation); SA m decides
  [V - V_ref,m - v_os,m > 0] with independent Gaussian offsets v_os,m ~ N(0, sigma_os^2). Given V the SAs are
  independent, so P(output | V) is an exact sum over the 2^n decision vectors, integrated numerically over V.
  This reaches error rates far below what the Monte Carlo can count; the counted errors are kept too, and
  :func:`compare_with_spice` tests the model against a held-out Monte Carlo (binomial test).
- **energy and latency per operation** (J, s) from the transients (see the characterization module).
- **stored-bit flips** (no drift in MRAM): thermal retention failures after a storage time t and read disturb
  per sensing, from the MTJ model's thermal-activation law (:class:`~devicelab.devices.mtj.MTJModel`).

Validity: the Gaussian form of V is checked only within the Monte Carlo's statistical reach (tails below about
1 / trials are an extrapolation of the fitted moments).

Model files are HDF5, format ``devicelab.bitops_model`` version 1 (:func:`save_bitops_model`,
:func:`load_bitops_model`): root attributes ``sa_offset_sigma`` (V), ``read_disturb`` (per sensing),
``delta``, ``tau0`` (s), ``mtj_name``; group ``sense/n<n>`` with datasets ``mu``, ``sigma``, ``v_ref`` (V);
group ``ops/<op>`` with ``error`` (per k), ``energy`` (J), ``latency`` (s), ``spice_errors``, ``spice_trials``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import h5py
import numpy as np

from devicelab.errors import ConfigError, ModelFileError
from devicelab.files import atomic_output, check_header, write_dataset, write_header
from devicelab.spice.pim.netlist import OPERATIONS, exact_output, op_output

FORMAT = "devicelab.bitops_model"
FORMAT_VERSION = 1
_GRID = 4001
_SPAN = 12.0  # standard deviations each side of mu_k integrated over


def _decision_vectors(n: int) -> np.ndarray:
    return ((np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1).astype(bool)


def gaussian_error_probability(op: str, mu: np.ndarray, sigma: np.ndarray, v_ref: np.ndarray,
                               sa_offset_sigma: float) -> np.ndarray:
    """P(output of ``op`` wrong | k ones), k = 0..n, for V ~ N(mu_k, sigma_k^2) (V) and Gaussian SA offsets.

    ``v_ref`` (V): the n reference voltages; ``sa_offset_sigma`` (V rms). See the module docstring.
    """
    from scipy.special import ndtr

    n = len(v_ref)
    decisions = _decision_vectors(n)
    outputs = op_output(op, decisions)
    errors = np.empty(n + 1)
    if sa_offset_sigma <= 0:
        return _error_without_offset(op, mu, sigma, np.asarray(v_ref, dtype=np.float64))
    for k in range(n + 1):
        if sigma[k] > 0:
            z = np.linspace(-_SPAN, _SPAN, _GRID)
            v = mu[k] + sigma[k] * z
            weight = np.exp(-0.5 * z**2)
            weight /= weight.sum()
        else:
            v, weight = np.array([mu[k]]), np.array([1.0])
        q = ndtr((v[:, None] - v_ref[None, :]) / sa_offset_sigma)
        # P(decision vector | V) = prod_m q_m^d_m (1 - q_m)^(1 - d_m); summed over vectors giving output 1
        prob = np.prod(np.where(decisions[None, :, :], q[:, None, :], 1 - q[:, None, :]), axis=2)
        p_one = prob[:, outputs].sum(axis=1)
        exact = bool(exact_output(op, k))
        errors[k] = float(np.sum(weight * (1 - p_one if exact else p_one)))
    return np.clip(errors, 0.0, 1.0)


def _error_without_offset(op: str, mu, sigma, v_ref) -> np.ndarray:
    """Offset-free SAs decide deterministically: sum the Gaussian mass of V over the intervals between the
    reference voltages whose thermometer code gives a wrong output (exact, no integration grid)."""
    from scipy.special import ndtr

    n = len(v_ref)
    edges = np.concatenate([[-np.inf], np.sort(v_ref), [np.inf]])
    errors = np.empty(n + 1)
    for k in range(n + 1):
        exact = bool(exact_output(op, k))
        total = 0.0
        for lo, hi in zip(edges[:-1], edges[1:]):
            thermo = (np.asarray(v_ref) <= lo) if np.isfinite(lo) else np.zeros(n, bool)
            if bool(op_output(op, thermo)) == exact:
                continue
            if sigma[k] > 0:
                total += float(ndtr((hi - mu[k]) / sigma[k]) - ndtr((lo - mu[k]) / sigma[k]))
            else:
                total += float(lo < mu[k] <= hi)
        errors[k] = total
    return np.clip(errors, 0.0, 1.0)


@dataclass(frozen=True, eq=False)
class BitOpsModel:
    """Error probabilities, energies and latencies of the PIM bit operations (see the module docstring).

    ``error``: {op: P(wrong | k), k = 0..n}; ``energy`` {op: J}; ``latency`` {op: s}; ``sense``: {n: (mu, sigma,
    v_ref)} in V; ``sa_offset_sigma`` (V); ``spice_counts``: {op: (errors per k, trials per k)} of the Monte
    Carlo it was built from; ``read_disturb`` (flip probability of a stored P bit per sensing); ``delta``,
    ``tau0`` (s): thermal stability and attempt time for retention; ``mtj_name``; ``provenance``.
    """

    error: dict
    energy: dict
    latency: dict
    sense: dict = field(default_factory=dict)
    sa_offset_sigma: float = 0.0
    spice_counts: dict = field(default_factory=dict)
    read_disturb: float = 0.0
    delta: float = math.inf
    tau0: float = 1e-9
    mtj_name: str = ""
    provenance: dict = field(default_factory=dict)

    def __post_init__(self):
        for op, p in self.error.items():
            if op not in OPERATIONS:
                raise ConfigError(f"BitOpsModel: unknown operation {op!r} (known: {', '.join(OPERATIONS)})")
            p = np.asarray(p, dtype=np.float64)
            if p.shape != (OPERATIONS[op][0] + 1,) or np.any(~np.isfinite(p)) or np.any((p < 0) | (p > 1)):
                raise ConfigError(f"BitOpsModel: error[{op!r}] must hold {OPERATIONS[op][0] + 1} probabilities")
        missing = set(self.error) ^ set(self.energy) | set(self.error) ^ set(self.latency)
        if missing:
            raise ConfigError(f"BitOpsModel: error, energy and latency must name the same operations ({missing})")

    def error_probability(self, op: str, k) -> np.ndarray:
        """P(output of ``op`` wrong) for k stored ones (array of k)."""
        try:
            return np.asarray(self.error[op])[np.asarray(k)]
        except KeyError:
            raise ConfigError(f"the model has no operation {op!r} (has {', '.join(self.error)})") from None

    def mean_error(self, op: str) -> float:
        """Error probability of ``op`` averaged over uniformly random input bits."""
        from math import comb

        n = OPERATIONS[op][0]
        return float(sum(comb(n, k) * self.error[op][k] for k in range(n + 1)) / 2**n)

    def stored_flip_probability(self, t: float, reads: float = 0.0) -> float:
        """Probability that a stored bit has flipped after storage time ``t`` (s) and ``reads`` sensings.

        Retention: 1 - exp(-(t / tau0) exp(-Delta)); read disturb: ``reads`` * read_disturb (first order; it
        applies to the state the read current destabilizes, counted here for every bit: an upper bound).
        """
        retention = -math.expm1(-(t / self.tau0) * math.exp(-self.delta)) if math.isfinite(self.delta) else 0.0
        return float(min(1.0, retention + reads * self.read_disturb))

    def scaled(self, factor: float) -> "BitOpsModel":
        """A copy with every error probability multiplied by ``factor`` (clipped to 1): for error sweeps."""
        return replace(self, error={op: np.minimum(1.0, factor * np.asarray(p)) for op, p in self.error.items()})


def ideal_bitops(energy: dict | None = None, latency: dict | None = None) -> BitOpsModel:
    """Error-free operations (for exact evaluation), with the given energies/latencies (default NaN)."""
    return BitOpsModel(error={op: np.zeros(n + 1) for op, (n, _) in OPERATIONS.items()},
                       energy={op: (energy or {}).get(op, math.nan) for op in OPERATIONS},
                       latency={op: (latency or {}).get(op, math.nan) for op in OPERATIONS}, mtj_name="ideal")


SHIPPED_MODEL = "bitops-pim_default.h5"


def shipped_bitops_model() -> BitOpsModel:
    """The bit-operation model of the pim_default MTJ shipped in devicelab/data (written by
    ``devicelab pim characterize --preset pim_default --per-pattern 100 -o devicelab/data/bitops-pim_default.h5``)."""
    from importlib import resources

    with resources.as_file(resources.files("devicelab") / "data" / SHIPPED_MODEL) as path:
        return load_bitops_model(path)


def from_characterization(char) -> BitOpsModel:
    """Build the behavioral model from a :class:`~devicelab.spice.pim.BitOpsCharacterization`."""
    sense = {}
    for n, run in char.runs.items():
        k = run.bits.sum(axis=1)
        mu = np.array([np.mean(run.v_sense[k == j]) for j in range(n + 1)])
        sigma = np.array([np.std(run.v_sense[k == j], ddof=1) for j in range(n + 1)])
        sense[n] = (mu, sigma, np.asarray(char.v_ref[n], dtype=np.float64))
    sa = char.spec.sa_offset_sigma
    error, counts = {}, {}
    for op, (n, _) in OPERATIONS.items():
        if n in sense:
            error[op] = gaussian_error_probability(op, *sense[n], sa)
            counts[op] = char.errors(op)
    model = char.model
    i_cell = char.spec.i_read  # per activated row: the current through each cell, to first order
    read_disturb = model.read_disturb_probability(i_cell * model.r_p, char.spec.t_sense) if i_cell < model.ic0 else 1.0
    return BitOpsModel(error=error, energy={op: char.op_energy[op] for op in error},
                       latency={op: char.op_latency[op] for op in error}, sense=sense, sa_offset_sigma=sa,
                       spice_counts=counts, read_disturb=read_disturb, delta=model.delta, tau0=model.tau0,
                       mtj_name=model.name, provenance=dict(char.provenance))


def compare_with_spice(model: BitOpsModel, char) -> list[dict]:
    """Per operation and k: the model's error probability against a held-out Monte Carlo ``char``.

    Each row: ``op``, ``k``, ``predicted``, ``errors``, ``trials``, ``pvalue`` (two-sided exact binomial test of
    the counted errors under the predicted probability).
    """
    from scipy.stats import binomtest

    rows = []
    for op in model.error:
        if OPERATIONS[op][0] not in char.runs:
            continue
        errors, trials = char.errors(op)
        for k, (e, t) in enumerate(zip(errors, trials)):
            p = float(model.error[op][k])
            if t == 0:
                continue
            if p <= 0.0 or p >= 1.0:
                pvalue = 1.0 if (e == 0 if p <= 0 else e == t) else 0.0
            else:
                pvalue = binomtest(int(e), int(t), p).pvalue
            rows.append({"op": op, "k": k, "predicted": p, "errors": int(e), "trials": int(t), "pvalue": float(pvalue)})
    return rows


def save_bitops_model(model: BitOpsModel, path: str | Path) -> Path:
    """Write ``model`` to an HDF5 file (format ``devicelab.bitops_model`` v1), atomically."""
    path = Path(path)
    with atomic_output(path, suffix=".h5") as tmp:
        with h5py.File(tmp, "w") as f:
            write_header(f, FORMAT, FORMAT_VERSION, model.provenance)
            f.attrs["sa_offset_sigma"] = model.sa_offset_sigma
            f.attrs["read_disturb"] = model.read_disturb
            f.attrs["delta"] = model.delta
            f.attrs["tau0"] = model.tau0
            f.attrs["mtj_name"] = model.mtj_name
            for n, (mu, sigma, v_ref) in model.sense.items():
                g = f.create_group(f"sense/n{n}")
                write_dataset(g, "mu", mu, "V")
                write_dataset(g, "sigma", sigma, "V")
                write_dataset(g, "v_ref", v_ref, "V")
            for op in model.error:
                g = f.create_group(f"ops/{op}")
                write_dataset(g, "error", np.asarray(model.error[op]), "1")
                write_dataset(g, "energy", model.energy[op], "J")
                write_dataset(g, "latency", model.latency[op], "s")
                if op in model.spice_counts:
                    write_dataset(g, "spice_errors", model.spice_counts[op][0], "1")
                    write_dataset(g, "spice_trials", model.spice_counts[op][1], "1")
    return path


def load_bitops_model(path: str | Path) -> BitOpsModel:
    """Read a model written by :func:`save_bitops_model`; ModelFileError on a wrong or damaged file."""
    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            provenance = check_header(f, path, FORMAT, (FORMAT_VERSION,))
            sense = {int(name[1:]): tuple(np.array(f[f"sense/{name}/{d}"]) for d in ("mu", "sigma", "v_ref"))
                     for name in f.get("sense", {})}
            error, energy, latency, counts = {}, {}, {}, {}
            for op in f["ops"]:
                g = f[f"ops/{op}"]
                error[op] = np.array(g["error"])
                energy[op] = float(g["energy"][()])
                latency[op] = float(g["latency"][()])
                if "spice_errors" in g:
                    counts[op] = (np.array(g["spice_errors"]), np.array(g["spice_trials"]))
            attrs = f.attrs
            name = attrs.get("mtj_name", "")
            return BitOpsModel(error=error, energy=energy, latency=latency, sense=sense,
                               sa_offset_sigma=float(attrs["sa_offset_sigma"]), spice_counts=counts,
                               read_disturb=float(attrs["read_disturb"]), delta=float(attrs["delta"]),
                               tau0=float(attrs["tau0"]),
                               mtj_name=name.decode() if isinstance(name, bytes) else str(name),
                               provenance=provenance)
    except (OSError, KeyError) as exc:
        raise ModelFileError(f"{path}: not a readable {FORMAT} file ({exc})") from exc
    except ConfigError as exc:
        raise ModelFileError(f"{path}: {exc}") from exc
