"""Export a PCM model as IBM aihwkit ``PCMLikeNoiseModel`` parameters (JSON): :func:`export_aihwkit`.

aihwkit (src/aihwkit/inference/noise/pcm.py) works in uS and evaluates, with x = g_target / g_max:

- programming noise  sigma_prog = (sum_i prog_coeff[i] x^i) * g_max / prog_coeff_g_max_reference   (uS)
- drift exponent     nu = |mu + sigma N(0, 1)|, mu = clamp(a1 ln(max(x, 1e-7)) + a0, lo, hi), sigma likewise
- 1/f read noise     Q_s = clamp(c / clamp(x^exponent, min=1e-3), max=q_max), applied as
                     Q_s sqrt(ln((t + t_read) / (2 t_read))) with t = t_inference + t_0
- drift              G = G_prog ((t_inference + t_0) / t_0)^-nu

``prog_coeff``, ``g_max``, ``t_0`` and ``t_read`` are constructor arguments of ``PCMLikeNoiseModel``; the nu and
Q_s coefficients are constants typed into its methods (the Joshi et al. 2020 values). The export therefore
states whether the model's laws equal those constants; when they do not, it gives the coefficients for a
subclass that overrides ``generate_drift_coefficients`` / ``apply_drift_noise_to_conductance``, and for the
drift law a ``custom_drift_model`` table for ``CustomDriftPCMLikeNoiseModel`` (linear interpolation in G).
A drift law without an aihwkit form (linear, quadratic, PCHIP) is replaced by its best-fitting log-linear
approximation, with the largest error over the model's G range stated in the JSON and returned as a note.

devicelab's time t since programming is aihwkit's t_inference + t_0. aihwkit itself is not needed.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np

from devicelab.devices.laws import LogLinearClip
from devicelab.devices.pcm import PCMModel, joshi2020
from devicelab.errors import ConfigError
from devicelab.files import atomic_output

FORMAT = "devicelab.aihwkit_pcm_noise"
FORMAT_VERSION = 1
#: aihwkit's floor of g_target/g_max inside the drift-law logarithm (``_ZERO_CLIP`` in pcm.py).
AIHWKIT_ZERO_CLIP = 1e-7
#: aihwkit's floor of (g/g_max)^exponent in the read-noise law.
AIHWKIT_QS_FLOOR = 1e-3
#: Points of the custom_drift_model table, of the log-linear approximation fit, and of the error grid.
TABLE_POINTS = 65
APPROX_POINTS = 16
ERROR_POINTS = 400
MICRO = 1e-6


def _finite_or_none(value: float):
    return float(value) if math.isfinite(value) else None


def _loglinear_coefficients(law: LogLinearClip) -> dict:
    return {"a0": float(law.a0), "a1": float(law.a1), "lo": _finite_or_none(law.lo), "hi": _finite_or_none(law.hi)}


def aihwkit_loglinear(g_rel, a0, a1, lo=None, hi=None) -> np.ndarray:
    """aihwkit's drift-law form clamp(a1 ln(max(x, 1e-7)) + a0, lo, hi) (None: no bound); dimensionless."""
    y = a1 * np.log(np.maximum(np.abs(np.asarray(g_rel, dtype=float)), AIHWKIT_ZERO_CLIP)) + a0
    return np.clip(y, -np.inf if lo is None else lo, np.inf if hi is None else hi)


def _best_loglinear(law, g_rel_grid) -> LogLinearClip:
    """The clip(a0 + a1 ln x, lo, hi) closest (least squares) to ``law`` on the grid."""
    from devicelab.devices.fit_laws import fit_loglinear_clip

    g_rel_grid = np.geomspace(g_rel_grid[0], g_rel_grid[-1], APPROX_POINTS)
    y = law(g_rel_grid)
    with warnings.catch_warnings():  # an approximation, not a fit to data: its quality is reported as max error
        warnings.simplefilter("ignore")
        part = fit_loglinear_clip(g_rel_grid, y, np.full(y.shape, max(float(np.ptp(y)), 1e-12) * 1e-3), 1.0,
                                  criterion="aic", floor=None)
    return part.law


def _drift_entry(name: str, law, g_rel_grid) -> tuple[dict, str | None]:
    exact = isinstance(law, LogLinearClip)
    approx = law if exact else _best_loglinear(law, g_rel_grid)
    coeffs = _loglinear_coefficients(approx)
    error = float(np.max(np.abs(aihwkit_loglinear(g_rel_grid, **coeffs) - law(g_rel_grid))))
    entry = {"form": "clamp(a1 * log(clamp(g / g_max, min=1e-7)) + a0, min=lo, max=hi)", **coeffs,
             "fitted_law": law.law, "exact": exact, "max_abs_error": error}
    note = None
    if not exact:
        note = (f"{name}: the fitted {law.law} law has no aihwkit form; exported its best log-linear approximation "
                f"(max |error| {error:.3g} over the model's G range) -- use custom_drift_model with "
                f"CustomDriftPCMLikeNoiseModel for the fitted law itself")
    return entry, note


def _custom_table(model: PCMModel, g_lo: float, g_hi: float, g_fine) -> dict:
    """custom_drift_model for CustomDriftPCMLikeNoiseModel (g in uS, linear interpolation) and its max error."""
    g_lst = np.geomspace(g_lo, g_hi, TABLE_POINTS) if g_hi > g_lo else np.array([g_lo, g_lo * (1 + 1e-9)])
    mean, std = model.nu_stats(g_lst)
    fine_mean, fine_std = model.nu_stats(g_fine)
    err_mean = np.max(np.abs(np.interp(g_fine, g_lst, mean) - fine_mean))
    err_std = np.max(np.abs(np.interp(g_fine, g_lst, std) - fine_std))
    return {"g_lst": [float(g / MICRO) for g in g_lst], "nu_mean_lst": [float(v) for v in mean],
            "nu_std_lst": [float(max(v, 0.0)) for v in std],
            "max_abs_error_nu_mean": float(err_mean), "max_abs_error_nu_std": float(err_std)}


def aihwkit_parameters(model: PCMModel, g_range: tuple[float, float] | None = None) -> tuple[dict, list[str]]:
    """The aihwkit ``PCMLikeNoiseModel`` description of ``model`` and the notes on laws aihwkit cannot express.

    ``g_range`` (S) is where approximation errors are measured; default ``model.g_range``, else
    [0.01 g_max, g_max] (said in a note). Returns ``(parameters, notes)``; the parameters are JSON-ready.
    """
    if not isinstance(model, PCMModel):
        raise ConfigError(f"aihwkit export needs a PCMModel, got {type(model).__name__}")
    notes: list[str] = []
    if g_range is None:
        g_range = model.g_range
    if g_range is None:
        g_range = (0.01 * model.g_max, model.g_max)
        notes.append(f"model states no fitted G range; errors measured over [{g_range[0]:.3g}, {g_range[1]:.3g}] S")
    g_lo, g_hi = (float(g) for g in g_range)
    if not 0 < g_lo <= g_hi:
        raise ConfigError(f"aihwkit export: G range must satisfy 0 < g_lo <= g_hi, got {g_range}")
    g_fine = np.geomspace(g_lo, g_hi, ERROR_POINTS)
    x_fine = g_fine / model.g_max
    g_max_us = model.g_max / MICRO
    reference = joshi2020()

    nu_mean, note_mean = _drift_entry("nu_mean", model.nu_mean, x_fine)
    nu_std, note_std = _drift_entry("nu_std", model.nu_std, x_fine)
    notes += [n for n in (note_mean, note_std) if n]
    rn = model.read_noise
    read_noise = {"form": "clamp(c / clamp((g / g_max) ** exponent, min=1e-3), max=q_max)", "c": float(rn.c),
                  "exponent": float(rn.exponent), "q_max": _finite_or_none(rn.q_max)}
    hard_coded = {
        "drift": model.nu_mean == reference.nu_mean and model.nu_std == reference.nu_std,
        "read_noise": model.read_noise == reference.read_noise,
    }
    if not all(hard_coded.values()):
        notes.append("aihwkit's PCMLikeNoiseModel hard-codes the Joshi et al. 2020 nu and Q_s constants; "
                     "use a subclass overriding generate_drift_coefficients / apply_drift_noise_to_conductance "
                     "with the exported coefficients (or custom_drift_model for the drift law)")
    if model.activation_energy is not None:
        notes.append(f"activation_energy {model.activation_energy:.4g} eV: aihwkit has no temperature "
                     f"acceleration; the export holds at T_ref = {model.t_ref_temperature:g} K")
    if model.v0 is not None:
        notes.append(f"read I-V nonlinearity V0 = {model.v0:.4g} V is not part of aihwkit's noise model")
    params = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "source_model": model.name,
        "aihwkit_class": "aihwkit.inference.noise.pcm.PCMLikeNoiseModel",
        "aihwkit_source": "https://github.com/IBM/aihwkit/blob/master/src/aihwkit/inference/noise/pcm.py",
        "units": {"g_max": "uS", "prog_coeff": "uS", "t_0": "s", "t_read": "s", "custom_drift_model.g_lst": "uS"},
        "kwargs": {"prog_coeff": [float(c / MICRO) for c in model.prog_coeffs], "g_max": g_max_us,
                   "prog_coeff_g_max_reference": g_max_us, "t_0": float(model.t0), "t_read": float(model.t_read)},
        "drift_nu_mean": nu_mean,
        "drift_nu_std": nu_std,
        "read_noise": read_noise,
        "custom_drift_model": _custom_table(model, g_lo, g_hi, g_fine),
        "equals_aihwkit_hard_coded_constants": hard_coded,
        "g_range_uS": [g_lo / MICRO, g_hi / MICRO],
        "time_convention": "devicelab t (s since programming) = aihwkit t_inference + t_0",
        "notes": notes,
    }
    return params, notes


def export_aihwkit(model: PCMModel, path, g_range: tuple[float, float] | None = None) -> tuple[Path, list[str]]:
    """Write :func:`aihwkit_parameters` of ``model`` to ``path`` as JSON (atomically); returns (path, notes)."""
    params, notes = aihwkit_parameters(model, g_range)
    path = Path(path)
    with atomic_output(path, suffix=".json") as tmp:
        Path(tmp).write_text(json.dumps(params, indent=2, allow_nan=False) + "\n")
    return path, notes
