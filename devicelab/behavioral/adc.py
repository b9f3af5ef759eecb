"""Behavioral ADC model (transfer-table lookup with input-referred noise) and DAC input quantization.

An :class:`ADCModel` is the list of its transition levels T_1..T_K (V, K = 2^bits - 1): an input v gives the
code ``#{k : T_k <= v}`` (0..K), after adding Gaussian input-referred noise of ``noise_sigma`` (V rms) when
that is non-zero. Offset, gain error and INL/DNL are all contained in the transition levels, which come from
a transient SPICE characterization (:func:`from_characterization`) or are ideal (:func:`ideal_adc`).
:meth:`ADCModel.reconstruct` maps codes back to the *nominal* code centres ``v_min + (code + 1/2) LSB``, the
values digital logic downstream of a real converter assumes, so the converter's errors propagate.

Model files are HDF5, format ``devicelab.adc_model`` version 1 (:func:`save_adc_model`,
:func:`load_adc_model`): root attributes ``bits``, ``v_min``, ``v_max`` (V), ``noise_sigma`` (V), ``kind``;
datasets ``transitions`` and ``ideal_transitions`` (V), ``inl_bestfit``, ``inl_endpoint``, ``dnl`` (LSB),
``energy_per_conversion`` (J), ``t_conversion`` (s, NaN when unknown); group
``error_table`` (model vs SPICE codes on held-out inputs: ``fraction_exact``, ``max_abs_code_error``,
``mean_abs_code_error``, ``n_inputs``, and the ideal converter's ``ideal_fraction_exact`` for comparison, plus
the held-out ``inputs`` (V), ``spice_codes`` and ``model_codes``); provenance (ngspice version, netlist SHA-256,
parameters) in the standard header.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import h5py
import numpy as np

from devicelab.behavioral.adc_lookup import CellTable
from devicelab.errors import ConfigError, ModelFileError
from devicelab.files import atomic_output, check_header, write_dataset, write_header
from devicelab.spice.adc.metrics import Linearity, ideal_transitions, linearity

FORMAT = "devicelab.adc_model"
FORMAT_VERSION = 1
MAX_BITS = 16


def _check_range(bits, v_min, v_max, what: str) -> tuple[int, float, float]:
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 1 <= bits <= MAX_BITS:
        raise ConfigError(f"{what}: bits must be an integer in [1, {MAX_BITS}], got {bits!r}")
    lo, hi = float(v_min), float(v_max)
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ConfigError(f"{what}: expected finite v_min < v_max, got {v_min!r}, {v_max!r}")
    return int(bits), lo, hi


@dataclass(frozen=True, eq=False)
class ADCModel:
    """A ``bits``-bit ADC on the nominal input range [``v_min``, ``v_max``] (V) given by its transition levels.

    ``transitions``: T_1..T_K (V, non-decreasing, K = 2^bits - 1); ``noise_sigma``: input-referred noise
    (V rms, 0 for none); ``kind``: "ideal", "sar" or "ramp"; ``error_table``: measured model error against
    SPICE (see the module docstring); ``provenance``: where the transition levels came from;
    ``energy_per_conversion`` (J) and ``t_conversion`` (s) of the simulated converter (NaN when unknown).
    """

    bits: int
    v_min: float
    v_max: float
    transitions: np.ndarray
    noise_sigma: float = 0.0
    kind: str = "ideal"
    error_table: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)
    energy_per_conversion: float = math.nan
    t_conversion: float = math.nan
    _lookup: tuple[CellTable, ...] = field(init=False, repr=False, compare=False)  # set in __post_init__

    def __post_init__(self):
        bits, lo, hi = _check_range(self.bits, self.v_min, self.v_max, "ADCModel")
        t = np.array(self.transitions, dtype=np.float64)
        if t.shape != (2**bits - 1,) or not np.all(np.isfinite(t)) or np.any(np.diff(t) < 0):
            raise ConfigError(f"ADCModel: transitions must be {2**bits - 1} finite non-decreasing levels (V), "
                              f"got shape {t.shape}")
        sigma = float(self.noise_sigma)
        if not (math.isfinite(sigma) and sigma >= 0):
            raise ConfigError(f"ADCModel: noise_sigma must be a finite value >= 0 (V), got {self.noise_sigma!r}")
        t.flags.writeable = False
        object.__setattr__(self, "bits", bits)
        object.__setattr__(self, "v_min", lo)
        object.__setattr__(self, "v_max", hi)
        object.__setattr__(self, "transitions", t)
        object.__setattr__(self, "noise_sigma", sigma)
        for name in ("energy_per_conversion", "t_conversion"):
            value = float(getattr(self, name))
            if not (math.isnan(value) or (math.isfinite(value) and value >= 0)):
                raise ConfigError(f"ADCModel: {name} must be >= 0 or NaN (unknown), got {value!r}")
            object.__setattr__(self, name, value)
        lookup = tuple(CellTable(t, (hi - lo) / 2**bits, dtype) for dtype in (np.float64, np.float32))
        object.__setattr__(self, "_lookup", lookup)  # exact cell lookup of the codes (adc_lookup)

    @property
    def lsb(self) -> float:
        """Nominal code width (V)."""
        return (self.v_max - self.v_min) / 2**self.bits

    @property
    def top_code(self) -> int:
        """Largest code, 2^bits - 1."""
        return 2**self.bits - 1

    def linearity(self) -> Linearity:
        """Offset, gain error, INL and DNL of the transition levels (see devicelab.spice.adc.metrics)."""
        return linearity(self.transitions, self.bits, self.v_min, self.v_max)

    def convert(self, v, rng: np.random.Generator | None = None) -> np.ndarray:
        """Codes (int32, same shape as ``v``) of input voltages ``v`` (V): ``#{k : T_k <= v}``; ``v`` is not modified.

        float32 inputs are compared with float32 transition levels (no float64 copy). ``rng`` is required when
        ``noise_sigma`` > 0 (one independent noise sample per input). NaN inputs give code 0.
        """
        x = np.asarray(v)
        if x.dtype != np.float32:
            x = x.astype(np.float64, copy=False)
        if self.noise_sigma > 0:
            if rng is None:
                raise ConfigError("ADCModel.convert: this model has input noise; pass rng")
            x = x + rng.normal(0.0, self.noise_sigma, x.shape).astype(x.dtype, copy=False)
        return self._lookup[x.dtype == np.float32].codes(x)

    def reconstruct(self, codes, dtype=np.float32) -> np.ndarray:
        """Nominal code centres ``v_min + (code + 1/2) LSB`` (V) of integer ``codes``, as ``dtype`` (float32 by
        default, for network throughput)."""
        c = np.asarray(codes)
        if not np.issubdtype(c.dtype, np.integer):
            raise ConfigError(f"ADCModel.reconstruct: codes must be integers, got dtype {c.dtype}")
        if c.size and (c.min() < 0 or c.max() > self.top_code):
            raise ConfigError(f"ADCModel.reconstruct: codes must be in [0, {self.top_code}], "
                              f"got [{c.min()}, {c.max()}]")
        centres = self.v_min + (np.arange(self.top_code + 1) + 0.5) * self.lsb
        return centres.astype(np.dtype(dtype))[c]


def ideal_adc(bits: int, v_min: float, v_max: float) -> ADCModel:
    """Ideal (truncating, noise-free) ``bits``-bit ADC on [v_min, v_max] (V): T_k = v_min + k LSB."""
    bits, lo, hi = _check_range(bits, v_min, v_max, "ideal_adc")
    return ADCModel(bits, lo, hi, ideal_transitions(bits, lo, hi), 0.0, "ideal")


def quantize_dac(x, bits: int, x_min: float, x_max: float) -> np.ndarray:
    """DAC input quantization: clip ``x`` to [x_min, x_max] and round to the nearest of 2^bits levels.

    Levels are ``x_min + k (x_max - x_min) / (2^bits - 1)``, k = 0..2^bits-1 (both ends are levels); ties
    round half to even. Returns a new array of the input's floating dtype (float64 for integer input);
    ``x`` is not modified.
    """
    bits, lo, hi = _check_range(bits, x_min, x_max, "quantize_dac")
    a = np.asarray(x)
    dtype = a.dtype if np.issubdtype(a.dtype, np.floating) else np.float64
    steps = 2**bits - 1
    scale = (hi - lo) / steps
    k = np.rint((np.clip(a, lo, hi).astype(np.float64, copy=False) - lo) / scale)
    return (lo + k * scale).astype(dtype, copy=False)


def from_characterization(char, rng: np.random.Generator | None = None) -> ADCModel:
    """Behavioral model of a characterized ADC (:class:`devicelab.spice.adc.characterize.ADCCharacterization`).

    Uses its transition levels and input-referred noise, and measures the model's error on the
    characterization's held-out inputs (converted separately in SPICE, never used for the transition levels):
    with ``rng`` the noisy model is compared, without it the noise-free one.
    """
    model = ADCModel(char.bits, char.v_min, char.v_max, char.transitions, char.input_noise, char.spec.kind,
                     provenance=dict(char.provenance), energy_per_conversion=char.energy_per_conversion,
                     t_conversion=char.spec.t_conversion)
    table = error_table(model, char.heldout_inputs, char.heldout_codes, rng if model.noise_sigma > 0 else None)
    return replace(model, error_table=table)


def error_table(model: ADCModel, inputs, spice_codes, rng: np.random.Generator | None = None) -> dict:
    """Model vs SPICE codes on ``inputs`` (V): fraction of exact codes, max and mean |code error| (codes).

    With no rng a noisy model is evaluated noise-free. Includes the ideal converter's fraction of exact codes.
    """
    v = np.asarray(inputs, dtype=np.float64)
    spice = np.asarray(spice_codes, dtype=np.int64)
    if v.shape != spice.shape or v.ndim != 1:
        raise ConfigError("error_table: inputs and SPICE codes must be 1-D arrays of the same length")
    if rng is None and model.noise_sigma > 0:
        model = replace(model, noise_sigma=0.0)
    codes = model.convert(v, rng).astype(np.int64)
    ideal = ideal_adc(model.bits, model.v_min, model.v_max).convert(v)
    err = np.abs(codes - spice)
    n = int(v.size)
    return {"n_inputs": n,
            "fraction_exact": float(np.mean(err == 0)) if n else math.nan,
            "max_abs_code_error": int(err.max()) if n else 0,
            "mean_abs_code_error": float(err.mean()) if n else math.nan,
            "ideal_fraction_exact": float(np.mean(ideal == spice)) if n else math.nan,
            "noise_in_comparison": bool(rng is not None and model.noise_sigma > 0),
            "inputs": v, "spice_codes": spice, "model_codes": codes}


_TABLE_SCALARS = ("n_inputs", "fraction_exact", "max_abs_code_error", "mean_abs_code_error",
                  "ideal_fraction_exact", "noise_in_comparison")
_TABLE_ARRAYS = {"inputs": "V", "spice_codes": "1", "model_codes": "1"}


def save_adc_model(model: ADCModel, path: str | Path) -> Path:
    """Write ``model`` to an HDF5 model file (atomically); return the path."""
    path = Path(path)
    lin = model.linearity()
    with atomic_output(path, suffix=".h5") as tmp:
        with h5py.File(tmp, "w") as h5:
            write_header(h5, FORMAT, FORMAT_VERSION, model.provenance)
            h5.attrs.update({"bits": model.bits, "v_min": model.v_min, "v_max": model.v_max,
                             "noise_sigma": model.noise_sigma, "kind": model.kind})
            write_dataset(h5, "transitions", model.transitions, "V")
            write_dataset(h5, "ideal_transitions", ideal_transitions(model.bits, model.v_min, model.v_max), "V")
            write_dataset(h5, "inl_bestfit", lin.inl_bestfit, "LSB")
            write_dataset(h5, "inl_endpoint", lin.inl_endpoint, "LSB")
            write_dataset(h5, "dnl", lin.dnl, "LSB")
            write_dataset(h5, "energy_per_conversion", model.energy_per_conversion, "J")
            write_dataset(h5, "t_conversion", model.t_conversion, "s")
            group = h5.create_group("error_table")
            for name in _TABLE_SCALARS:
                if name in model.error_table:
                    write_dataset(group, name, model.error_table[name], "1")
            for name, units in _TABLE_ARRAYS.items():
                if name in model.error_table:
                    write_dataset(group, name, np.asarray(model.error_table[name]), units)
    return path


def load_adc_model(path: str | Path) -> ADCModel:
    """Read an ADC model file; raises ModelFileError naming the file and what is wrong."""
    path = Path(path)
    try:
        h5 = h5py.File(path, "r")
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"{path}: cannot open as an HDF5 ADC model file ({exc})") from exc
    with h5:
        provenance = check_header(h5, path, FORMAT, (FORMAT_VERSION,))
        try:
            attrs = {name: h5.attrs[name] for name in ("bits", "v_min", "v_max", "noise_sigma", "kind")}
            transitions = h5["transitions"][()]
            timing = {name: float(h5[name][()]) for name in ("energy_per_conversion", "t_conversion")}
            table = {}
            for name in (*_TABLE_SCALARS, *_TABLE_ARRAYS):
                if name in h5.get("error_table", {}):
                    value = h5["error_table"][name][()]
                    table[name] = value.item() if np.ndim(value) == 0 else value
        except KeyError as exc:
            raise ModelFileError(f"{path}: missing attribute or dataset ({exc})") from exc
    kind = attrs["kind"].decode() if isinstance(attrs["kind"], bytes) else str(attrs["kind"])
    try:
        return ADCModel(int(attrs["bits"]), float(attrs["v_min"]), float(attrs["v_max"]), transitions,
                        float(attrs["noise_sigma"]), kind, table, provenance, **timing)
    except ConfigError as exc:
        raise ModelFileError(f"{path}: invalid ADC model ({exc})") from exc
