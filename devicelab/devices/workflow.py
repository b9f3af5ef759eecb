"""File-level workflows behind ``devicelab fit`` and ``devicelab model``: read, fit, write model and report.

- :func:`fit_files`: measurement files -> :class:`PCMFitResult`, model file, report folder;
- :func:`fit_relaxation_files`: measured relaxation / time-series files -> :class:`RelaxationResult`, report;
- :func:`sample_model`, :func:`write_samples`: sampled conductances (g_target, t, g) of any model.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from pathlib import Path

import numpy as np
from tqdm import tqdm

from devicelab.devices.fit_pcm import KINDS, FitOptions, PCMFitResult, fit_pcm_model
from devicelab.devices.modelfile import save_model
from devicelab.devices.pcm import PCMModel
from devicelab.devices.relaxation import RelaxationResult, fit_relaxation
from devicelab.devices.report import write_fit_report, write_relaxation_report
from devicelab.errors import ConfigError, DevicelabError, InputFileError, ValidityRangeWarning
from devicelab.files import atomic_output, sha256_file
from devicelab.measurements import ColumnMapping, read_iv, read_measurements

log = logging.getLogger(__name__)


def read_table(path, mapping: ColumnMapping | None = None, kind: str | None = None):
    """Read one measurement file: an :class:`IVTable` when ``kind`` is ``"iv"`` or the file only parses as
    I-V sweeps, else a :class:`MeasurementTable`. Raises :class:`InputFileError` naming the file."""
    if kind is not None and kind not in KINDS:
        raise ConfigError(f"unknown data kind {kind!r} for {path}; expected one of {', '.join(KINDS)}")
    if kind == "iv":
        return read_iv(path, mapping)
    try:
        return read_measurements(path, mapping)
    except InputFileError as first:
        if kind is not None:
            raise
        try:
            return read_iv(path, mapping)
        except DevicelabError:  # not I-V either: the first error is the one that explains the file
            raise first from None


def fit_files(paths, output, *, mappings: dict | None = None, kinds: dict | None = None, report_dir=None,
              options: FitOptions | None = None, base: PCMModel | None = None,
              progress: bool = False) -> tuple[PCMFitResult, Path, Path | None]:
    """Fit a PCM model to measurement files and write the model file (and a report folder).

    ``mappings`` / ``kinds`` map a path (as given) to its :class:`ColumnMapping` / data kind; the key
    ``None`` applies to every file without its own entry. Returns (result, model path, report path or None).
    """
    mappings, kinds = dict(mappings or {}), dict(kinds or {})
    paths = [str(p) for p in paths]
    if not paths:
        raise ConfigError("no measurement files given")
    tables, given_kinds, inputs = [], [], []
    for path in tqdm(paths, desc="reading", unit="file", disable=not progress):
        kind = kinds.get(path, kinds.get(None))
        table = read_table(path, mappings.get(path, mappings.get(None)), kind)
        tables.append(table)
        given_kinds.append(kind)
        inputs.append({"path": str(Path(path).resolve()), "sha256": table.sha256 or sha256_file(path)})
    log.info("fitting %d tables", len(tables))
    result = fit_pcm_model(*tables, kinds=given_kinds, options=options, base=base,
                           name=Path(output).stem)
    opts = options or FitOptions()
    model_path = save_model(result, output, {"inputs": inputs, "fit_options": dataclasses.asdict(opts),
                                             "base_model": base.name if base else None})
    report = write_fit_report(result, report_dir, model_path=model_path) if report_dir else None
    return result, Path(model_path), report


def fit_relaxation_files(paths, report_dir=None, *, mappings: dict | None = None, criterion: str = "bic",
                         estimator: str = "std") -> tuple[RelaxationResult, Path | None]:
    """Spread-growth and 1/f-spectrum fits of measured files (e.g. real RRAM data) with an optional report."""
    mappings = dict(mappings or {})
    tables = [read_measurements(p, mappings.get(str(p), mappings.get(None))) for p in paths]
    result = fit_relaxation(*tables, criterion=criterion, estimator=estimator)
    report = write_relaxation_report(result, report_dir) if report_dir else None
    return result, report


def sample_model(model: PCMModel, g_targets, times, n: int, rng: np.random.Generator,
                 validity: dict | None = None) -> dict[str, np.ndarray]:
    """Program ``n`` devices per target (S) and read each at every time (s); columns g_target, t, g (SI).

    ``validity`` (the ``/validity`` record of a fitted model file: g_min, g_max in S, t_max in s) makes
    targets or times outside the fitted data range emit a :class:`ValidityRangeWarning`.
    """
    g_targets = np.atleast_1d(np.asarray(g_targets, dtype=float))
    times = np.atleast_1d(np.asarray(times, dtype=float))
    if n < 1 or not np.all(np.isfinite(g_targets)) or np.any(g_targets < 0):
        raise ConfigError("sampling needs n >= 1 and finite target conductances >= 0 S")
    if not np.all(np.isfinite(times)) or np.any(times < 0):
        raise ConfigError("read times must be finite and >= 0 s")
    if validity and "g_min" in validity:
        # the model states its own G range (g_range) and warns in model.sample; files without it use /validity
        g_lo, g_hi = model.g_range or (validity["g_min"], validity["g_max"])
        outside_g = g_targets[(g_targets < g_lo) | (g_targets > g_hi)] if model.g_range is None else np.array([])
        outside_t = times[times > validity.get("t_max", np.inf)]
        if outside_g.size or outside_t.size:
            outside = ([f"G_target {', '.join(f'{g:.3g}' for g in outside_g)} S"] if outside_g.size else []) + \
                      ([f"t {', '.join(f'{t:.3g}' for t in outside_t)} s"] if outside_t.size else [])
            warnings.warn(f"model '{model.name}' was fitted to G_target in [{g_lo:.3g}, "
                          f"{g_hi:.3g}] S and t <= {validity.get('t_max', np.inf):.3g} s; sampling "
                          f"{' and '.join(outside)} extrapolates the fitted laws", ValidityRangeWarning, stacklevel=2)
    g_dev = np.repeat(g_targets, int(n))
    reads = model.sample(g_dev, times, rng)  # (n_times, n_devices)
    return {"g_target": np.tile(g_dev, times.size), "t": np.repeat(times, g_dev.size), "g": reads.reshape(-1)}


def write_samples(columns: dict[str, np.ndarray], path) -> Path:
    """Write sample columns (g_target S, t s, g S) as CSV with a header, atomically."""
    path = Path(path)
    data = np.column_stack([columns["g_target"], columns["t"], columns["g"]])
    with atomic_output(path, suffix=".csv") as tmp:
        np.savetxt(tmp, data, delimiter=",", header="g_target,t,g", comments="", fmt="%.17g")
    return path
