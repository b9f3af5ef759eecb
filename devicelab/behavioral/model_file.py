"""Crossbar model files: HDF5, format "devicelab.crossbar_model", format_version 1.

Root attributes ``format``, ``format_version``, ``created_by``, ``provenance`` (JSON: sweep path and
SHA-256, sweep description and its hash, ngspice version, netlist SHA-256s of the ngspice runs,
calibration/held-out point indices, calibration trials, target). Every dataset has a ``units`` attribute.

- ``/circuit/``: ``r_row``, ``r_col``, ``r_driver``, ``r_sense`` (ohm), ``device`` (string, "1"),
  ``v0`` (V, NaN for linear devices), ``differential`` (bool, "1"): the circuit the model is bound for.
- ``/settings/``: ``n_probes`` (int, "1"), ``tol`` ("1"), ``max_iter`` (int, "1"), ``kappa3`` ("1"): the
  calibrated method parameters (see :mod:`devicelab.behavioral.crossbar_model`).
- ``/validity/``: ``rows``, ``cols`` (2,) int "1"; ``r_wire``, ``r_driver``, ``r_sense`` (2,) ohm;
  ``g`` (2,) S; ``v_max`` V; ``devices`` (strings, "1"); ``differential`` (bools, "1").
- format_version 2 adds ``/circuit/cell`` (string, "1"), ``/circuit/devices_per_polarity`` (int, "1"),
  ``/circuit/significance`` (N,) "1" (multi-device unit cells, see :mod:`devicelab.spice.crossbar.spec`) and,
  for 1T1R cells, ``/circuit/transistor/``
  ``v_gate``, ``vt0`` (V), ``kp`` (A/V^2), ``w``, ``l`` (m), ``lambda_`` (1/V); ``/validity/cells``
  (strings, "1") and, when 1T1R cells are covered, ``/validity/v_gate``, ``vt0`` (2,) V and ``r_on`` (2,)
  ohm, ``/validity/devices_per_polarity`` (2,) "1"; error-table columns ``cell``, ``v_gate``, ``vt0`` (V) and
  ``r_on`` (ohm). Version 1 files (no such datasets) are passive-cell models.
- ``/error_table/<column>``: one dataset per column of the held-out error table (length = points),
  columns as in :data:`devicelab.behavioral.build.ERROR_COLUMNS` (errors dimensionless, resistances ohm,
  v0 V).
"""

from __future__ import annotations

import math
from pathlib import Path

import h5py
import numpy as np

from devicelab.behavioral.build import ERROR_COLUMNS
from devicelab.behavioral.crossbar_model import CrossbarCircuit, CrossbarModel, ModelSettings, Validity
from devicelab.errors import ConfigError, ModelFileError
from devicelab.files import atomic_output, check_header, write_dataset, write_header
from devicelab.spice.crossbar.spec import AccessTransistor

FORMAT = "devicelab.crossbar_model"
FORMAT_VERSION = 2
SUPPORTED_VERSIONS = (1, 2)
_TRANSISTOR_UNITS = {"v_gate": "V", "vt0": "V", "kp": "A/V^2", "w": "m", "l": "m", "lambda_": "1/V"}
#: Error-table columns added in format_version 2, with the value a version 1 (passive) row takes.
_V2_COLUMNS = {"cell": "passive", "v_gate": math.nan, "vt0": math.nan, "r_on": 0.0}
_STR = h5py.string_dtype()
_UNITS = {"r_row": "ohm", "r_col": "ohm", "r_driver": "ohm", "r_sense": "ohm", "v0": "V", "v_gate": "V", "vt0": "V",
          "r_on": "ohm"}


def save_crossbar_model(model: CrossbarModel, path) -> Path:
    """Write ``model`` to ``path`` atomically (nothing half-written is left on failure); returns the path."""
    path = Path(path)
    with atomic_output(path, suffix=".h5") as tmp:
        with h5py.File(tmp, "w") as fh:
            write_header(fh, FORMAT, FORMAT_VERSION, model.provenance)
            c = fh.create_group("circuit")
            for name in ("r_row", "r_col", "r_driver", "r_sense"):
                write_dataset(c, name, float(getattr(model.circuit, name)), "ohm")
            _write_str(c, "device", model.circuit.device)
            write_dataset(c, "v0", math.nan if model.circuit.v0 is None else float(model.circuit.v0), "V")
            write_dataset(c, "differential", bool(model.circuit.differential), "1")
            _write_str(c, "cell", model.circuit.cell)
            write_dataset(c, "devices_per_polarity", int(model.circuit.devices_per_polarity), "1")
            write_dataset(c, "significance", np.asarray(model.circuit.significance, dtype=float), "1")
            if model.circuit.transistor is not None:
                tr = c.create_group("transistor")
                for name, unit in _TRANSISTOR_UNITS.items():
                    write_dataset(tr, name, float(getattr(model.circuit.transistor, name)), unit)
            s = fh.create_group("settings")
            st = model.settings
            write_dataset(s, "n_probes", int(st.n_probes), "1")
            write_dataset(s, "tol", float(st.tol), "1")
            write_dataset(s, "max_iter", int(st.max_iter), "1")
            write_dataset(s, "kappa3", float(st.kappa3), "1")
            v = fh.create_group("validity")
            va = model.validity
            write_dataset(v, "rows", np.asarray(va.rows, dtype=np.int64), "1")
            write_dataset(v, "cols", np.asarray(va.cols, dtype=np.int64), "1")
            for name in ("r_wire", "r_driver", "r_sense"):
                write_dataset(v, name, np.asarray(getattr(va, name), dtype=float), "ohm")
            write_dataset(v, "g", np.asarray(va.g, dtype=float), "S")
            write_dataset(v, "v_max", float(va.v_max), "V")
            _write_str(v, "devices", list(va.devices))
            write_dataset(v, "differential", np.asarray(va.differential, dtype=bool), "1")
            _write_str(v, "cells", list(va.cells))
            write_dataset(v, "devices_per_polarity", np.asarray(va.devices_per_polarity, dtype=np.int64), "1")
            for name, unit in (("v_gate", "V"), ("vt0", "V"), ("r_on", "ohm")):
                if getattr(va, name) is not None:
                    write_dataset(v, name, np.asarray(getattr(va, name), dtype=float), unit)
            t = fh.create_group("error_table")
            for col in ERROR_COLUMNS:
                values = [row[col] if col in row else _V2_COLUMNS[col] for row in model.error_table]
                if values and isinstance(values[0], str):
                    _write_str(t, col, values)
                else:
                    write_dataset(t, col, np.asarray(values, dtype=_column_dtype(col)), _UNITS.get(col, "1"))
    return path


def _column_dtype(col: str):
    if col in ("point", "rows", "cols"):
        return np.int64
    if col == "differential":
        return bool
    return float


def _write_str(group, name: str, value) -> None:
    ds = group.create_dataset(name, data=value, dtype=_STR)
    ds.attrs["units"] = "1"


def _read_str(ds):
    value = ds[()]
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray):
        return [x.decode() if isinstance(x, bytes) else str(x) for x in value.tolist()]
    return str(value)


def load_crossbar_model(path) -> CrossbarModel:
    """Read a crossbar model file; raises :class:`ModelFileError` naming the file on an unknown format or
    version or a missing/invalid part."""
    path = Path(path)
    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot open crossbar model file ({exc})") from exc
    with fh:
        provenance = check_header(fh, path, FORMAT, SUPPORTED_VERSIONS)
        try:
            c, s, v, t = fh["circuit"], fh["settings"], fh["validity"], fh["error_table"]
            v0 = float(c["v0"][()])
            cell = _read_str(c["cell"]) if "cell" in c else "passive"
            transistor = (AccessTransistor(**{name: float(c["transistor"][name][()]) for name in _TRANSISTOR_UNITS})
                          if cell == "1t1r" else None)
            circuit = CrossbarCircuit(float(c["r_row"][()]), float(c["r_col"][()]), float(c["r_driver"][()]),
                                      float(c["r_sense"][()]), _read_str(c["device"]),
                                      None if math.isnan(v0) else v0, bool(c["differential"][()]), cell, transistor,
                                      int(c["devices_per_polarity"][()]) if "devices_per_polarity" in c else 1,
                                      tuple(float(x) for x in c["significance"][()]) if "significance" in c else None)
            access = {name: _span(v[name], path) for name in ("v_gate", "vt0", "r_on") if name in v}
            settings = ModelSettings(int(s["n_probes"][()]), float(s["tol"][()]), int(s["max_iter"][()]),
                                     float(s["kappa3"][()]))
            validity = Validity(
                rows=_int_span(v["rows"], path), cols=_int_span(v["cols"], path),
                r_wire=_span(v["r_wire"], path), r_driver=_span(v["r_driver"], path),
                r_sense=_span(v["r_sense"], path), g=_span(v["g"], path),
                v_max=float(v["v_max"][()]), devices=tuple(_read_str(v["devices"])),
                differential=tuple(bool(x) for x in v["differential"][()]),
                cells=tuple(_read_str(v["cells"])) if "cells" in v else ("passive",),
                devices_per_polarity=(_int_span(v["devices_per_polarity"], path)
                                      if "devices_per_polarity" in v else (1, 1)), **access)
            columns = {}
            n_rows = len(t["point"])
            for col in ERROR_COLUMNS:
                if col not in t and col in _V2_COLUMNS:
                    columns[col] = [_V2_COLUMNS[col]] * n_rows
                    continue
                ds = t[col]
                columns[col] = (_read_str(ds) if h5py.check_string_dtype(ds.dtype) else
                                [x.item() if hasattr(x, "item") else x for x in ds[()]])
        except KeyError as exc:
            raise ModelFileError(f"{path}: crossbar model file lacks a dataset ({exc})") from exc
        except ConfigError as exc:
            raise ModelFileError(f"{path}: invalid crossbar model parameters ({exc})") from exc
    n = len(columns["point"])
    table = tuple({col: columns[col][k] for col in ERROR_COLUMNS} for k in range(n))
    return CrossbarModel(circuit, settings, validity, table, provenance)


def _pair(ds, path) -> np.ndarray:
    """The two values of a (min, max) validity range dataset; ModelFileError naming it otherwise."""
    values = np.atleast_1d(ds[()])
    if values.shape != (2,):
        raise ModelFileError(f"{path}: validity range '{ds.name}' must hold (min, max), got shape {values.shape}")
    return values


def _span(ds, path) -> tuple[float, float]:
    """A (min, max) range of floats (ohm, S, V) read by :func:`_pair`."""
    lo, hi = _pair(ds, path)
    return float(lo), float(hi)


def _int_span(ds, path) -> tuple[int, int]:
    """A (min, max) range of integers (sizes, devices per polarity) read by :func:`_pair`."""
    lo, hi = _pair(ds, path)
    return int(lo), int(hi)


def _load_npy(path, what: str) -> np.ndarray:
    """A numeric array from a .npy file (never unpickled); InputFileError naming the file otherwise."""
    from devicelab.errors import InputFileError
    from devicelab.files import load_numpy

    array = load_numpy(path, what)
    if np.iscomplexobj(array):
        raise InputFileError(path, f"{what}: expected real numbers, got a complex array (dtype {array.dtype})")
    if not isinstance(array, np.ndarray) or not np.issubdtype(array.dtype, np.number):
        raise InputFileError(path, f"expected a numeric array of {what}, got dtype {getattr(array, 'dtype', None)}")
    if not np.all(np.isfinite(array)):
        raise InputFileError(path, f"{what} contain non-finite values")
    return array


def apply_model_files(model_path, conductances_path, inputs_path, output_path) -> tuple[int, ...]:
    """``load_crossbar_model(model_path).bind(G).apply(V)`` saved to ``output_path`` (.npy, float64 A,
    written atomically). G (S) and V (V, one vector per row) are read from .npy files without
    unpickling. Returns the output shape."""
    from devicelab.errors import InputFileError

    model = load_crossbar_model(model_path)
    g = _load_npy(conductances_path, "conductances (S)")
    v = _load_npy(inputs_path, "input voltages (V)")
    try:
        bound = model.bind(g)
    except ConfigError as exc:
        raise InputFileError(conductances_path, str(exc)) from exc
    try:
        currents = bound.apply(v, dtype=np.float64)
    except ConfigError as exc:
        raise InputFileError(inputs_path, str(exc)) from exc
    with atomic_output(output_path, suffix=".npy") as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, currents, allow_pickle=False)
    return currents.shape
