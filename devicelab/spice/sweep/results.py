"""Reading sweep files (format "devicelab.sweep" v1, see :mod:`devicelab.spice.sweep.run`) and summarizing them.

Errors are full-scale relative: err(a, b) = max|a - b| / max|b| over all vectors and columns of a point
(a per-element relative error would blow up on the near-zero currents of sparse inputs and differential
outputs). Currents in A, times in s, resistances in ohm.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from devicelab.errors import ModelFileError
from devicelab.files import check_header

FORMAT = "devicelab.sweep"
SUPPORTED_VERSIONS = (1,)
ENGINE_ORDER = ("ngspice", "nodal")


@dataclass(frozen=True)
class SweepRecord:
    """One point of a sweep file: its parameters and arrays.

    ``params``: the point parameters (see the format); ``g`` in S, (rows, cols) or (2, rows, cols) = (G+, G-)
    when differential; ``v`` (n_vectors, rows) V; ``i_ideal`` (n_vectors, cols) A; ``currents`` engine name ->
    (n_vectors, cols) A; ``times`` engine name -> wall time in s.
    """

    params: dict
    g: np.ndarray
    v: np.ndarray
    i_ideal: np.ndarray
    currents: dict
    times: dict

    @property
    def reference(self) -> str:
        """Name of the most trusted engine that ran: "ngspice" if it did, else "nodal"."""
        return next(e for e in ENGINE_ORDER if e in self.currents)


@dataclass(frozen=True)
class SweepData:
    """A whole sweep file in memory: provenance dict and records in point order."""

    path: str
    provenance: dict
    records: tuple[SweepRecord, ...]


def read_sweep(path) -> SweepData:
    """Read a sweep file; raises :class:`ModelFileError` on an unknown format or version or a missing part."""
    path = Path(path)
    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot open sweep file ({exc})") from exc
    with fh:
        provenance = check_header(fh, path, FORMAT, SUPPORTED_VERSIONS)
        if "points" not in fh:
            raise ModelFileError(f"{path}: no /points group")
        records = []
        for name in sorted(fh["points"]):
            group = fh["points"][name]
            params = {k: _plain(v) for k, v in group.attrs.items()}
            try:
                currents = {k[2:]: group[k][()] for k in group if k.startswith("i_") and k != "i_ideal"}
                records.append(SweepRecord(
                    params=params, g=group["g"][()],
                    v=group["v"][()], i_ideal=group["i_ideal"][()], currents=currents,
                    times={k[5:]: float(group[k][()]) for k in group if k.startswith("time_")}))
            except KeyError as exc:
                raise ModelFileError(f"{path}: /points/{name} lacks a dataset ({exc})") from exc
    return SweepData(str(path), provenance, tuple(records))


def _plain(value):
    """HDF5 attribute -> plain Python value."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value


def full_scale_error(a: np.ndarray, b: np.ndarray) -> float:
    """max|a - b| / max|b| (dimensionless); NaN when b is all zero."""
    scale = float(np.max(np.abs(b))) if np.size(b) else 0.0
    return float(np.max(np.abs(np.asarray(a) - b))) / scale if scale > 0 else math.nan


def summarize_sweep(data: SweepData) -> list[dict]:
    """One row per point: its parameters plus ``err_nodal_ngspice`` (nodal vs ngspice, NaN where ngspice
    did not run), ``err_ideal`` (ideal model vs the reference engine), ``reference`` and engine times (s)."""
    rows = []
    for rec in data.records:
        row = dict(rec.params)
        cur = rec.currents
        row["err_nodal_ngspice"] = (full_scale_error(cur["nodal"], cur["ngspice"])
                                    if {"nodal", "ngspice"} <= set(cur) else math.nan)
        row["reference"] = rec.reference
        row["err_ideal"] = full_scale_error(rec.i_ideal, cur[rec.reference])
        for engine, seconds in rec.times.items():
            row[f"time_{engine}"] = seconds
        rows.append(row)
    return rows


def format_summary(rows: list[dict]) -> str:
    """A plain-text table of :func:`summarize_sweep` rows (one line per point)."""
    header = ("point", "size", "r_row/r_col (ohm)", "device", "cell", "G", "inputs", "nodal vs ngspice",
              "ideal err", "t_nodal (s)", "t_ngspice (s)")
    lines = []
    for r in rows:
        lines.append((
            str(r["index"]), f"{r['rows']}x{r['cols']}{' diff' if r['differential'] else ''}",
            f"{r['r_row']:g}/{r['r_col']:g}", r["device"] if r["device"] == "linear" else f"sinh {r['v0']:g}V",
            r["cell"], r["conductance"], r["inputs"], _fmt(r["err_nodal_ngspice"]),
            f"{_fmt(r['err_ideal'])} ({r['reference']})", _fmt(r.get("time_nodal", math.nan), "4f"),
            _fmt(r.get("time_ngspice", math.nan), "4f")))
    widths = [max(len(h), *(len(line[k]) for line in lines)) if lines else len(h) for k, h in enumerate(header)]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
    out += ["  ".join(c.ljust(w) for c, w in zip(line, widths)) for line in lines]
    return "\n".join(out)


def _fmt(value: float, spec: str = ".2e") -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def description_text(data: SweepData) -> str:
    """The TOML text the sweep was run from (from provenance), or its validated JSON form if absent."""
    return data.provenance.get("source_text") or json.dumps(data.provenance.get("description", {}), indent=1)
