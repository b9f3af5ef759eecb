"""Crossbar sweeps: a TOML grid of circuits run through the nodal solver and ngspice, stored in one HDF5 file.

Units are SI everywhere: resistances in ohm, conductances in S, voltages in V, currents in A, times in s.

Sweep description (TOML)
------------------------
Every list is one axis of the grid; the grid is the product of all axes (a scalar is a one-element list)::

    name = "demo"                    # label (letters, digits, _ . -)
    n_vectors = 16                   # input vectors per point (one batch, one analysis)
    repeats = 1                      # independent draws of G and V per circuit
    seed = 2026                      # base seed; per-point seeds are derived from it (see below)
    engines = ["nodal", "ngspice"]   # "nodal", "ngspice" or "both"; the ideal model is always computed
    ngspice_max_size = 32            # ngspice only where rows and cols <= this; nodal beyond

    [array]
    sizes = [[8, 8], [32, 32]]       # [rows, cols] pairs; or rows = [...] alone for square arrays, or
                                     #   rows = [...] and cols = [...] for their product
    r_wire = [0.5, 2.0]              # ohm per segment, r_row = r_col; or r_row = [...] and r_col = [...] for
                                     #   their product (r_col omitted: equal to r_row)
    r_driver = 0.0                   # ohm (default 0)
    r_sense = 0.0                    # ohm (default 0)
    cell = "passive"                 # "passive" | "1t1r"
    differential = false             # true: G+ / G- column pairs, output I+ - I-

    [[devices]]                      # read I-V; default one linear device
    kind = "linear"                  # or kind = "sinh" with v0 = 0.25 (V): I = G v0 sinh(V / v0)

    [[transistors]]                  # access transistors of the 1T1R points (default: one AccessTransistor())
    v_gate = 1.8                     # word line (V, > vt0); vt0 = 0.5 (V), kp = 200e-6 (A/V^2),
                                     #   w = 1e-6, l = 0.1e-6 (m), lambda = 0.0 (1/V): SPICE level 1

    [[conductances]]                 # one or more distributions
    kind = "uniform"                 # i.i.d. uniform in [g_min, g_max] (S)
    g_min = 0.25e-6
    g_max = 25e-6
    # kind = "device_model", model = "joshi2020" | "path/to/model.h5": targets uniform in
    #   [g_min (default 0), g_max (default model g_max)] programmed with PCMModel.program
    # kind = "weights", file = "w.npz" (or .npy), arrays = ["fc1"] (default: every 2-D array),
    #   layout = "out_in" (PyTorch, default) | "in_out", optional model = ...: see sweep_data.weight_conductances
    # name = "..." labels a distribution (default: its kind; names must be unique)

    [[inputs]]                       # one or more patterns, each with v_read (V, default 0.2)
    kind = "dense"                   # uniform in [0, v_read] ([-v_read, v_read] with signed = true)
    # kind = "sparse", density = 0.1: each input nonzero with probability density, else like dense
    # kind = "dnn", zero_fraction = 0.5, tail_sigma = 1.0: ReLU-like, zeros + clipped log-normal tail
    # kind = "onehot": one input at v_read per vector, cycling over the rows

Relative paths (weights, model files) are resolved against the TOML file's folder. Unknown keys are errors.
Seeds: the conductances of a point depend only on (seed, repeat, rows, cols, conductance, differential) and the
inputs only on (seed, repeat, rows, inputs, n_vectors), so points that differ only in wire resistance, drivers,
cell or device see exactly the same G and V (their errors compare like with like).

Sweep file (HDF5, format "devicelab.sweep", format_version 1)
-------------------------------------------------------------
Root attributes: ``format``, ``format_version``, ``created_by``, ``provenance`` (JSON: ``description_sha256``,
``description`` (the validated description), ``source`` and ``source_text`` (the TOML path and text),
``files`` (SHA-256 of referenced weight/model files), ``engines``, ``ngspice_version``, ``numpy``, ``python``,
``finished_utc``). Every dataset has a ``units`` attribute ("1" when dimensionless).

``/grid/NAME``: one dataset per point parameter, length n_points, row k = point k:
``index, rows, cols, n_vectors, repeat, seed_g, seed_v`` (int64, "1"), ``r_row, r_col, r_driver, r_sense``
(float64, "ohm"), ``v0`` (float64, "V", NaN for linear devices), ``differential`` (bool, "1"),
``cell, device, conductance, inputs, engines`` (UTF-8 strings, "1"; ``engines`` like "nodal,ngspice").

``/points/pNNNNN`` (NNNNN = 5-digit index): group with the same parameters as attributes, plus
``netlist_sha256``, ``ngspice_version`` and ``ngspice_attempts`` attributes where ngspice ran, and the datasets

- ``g`` "S": device conductances, shape (rows, cols); when differential (2, rows, cols) with g[0] = G+ and
  g[1] = G- (the :class:`~devicelab.spice.CrossbarSpec` convention),
- ``v`` (n_vectors, rows) "V": input voltages, one vector per row,
- ``i_ideal`` (n_vectors, cols) "A": the ideal V.G model, I_j = sum_i G_ij V_i: no wire, driver or sense
  resistance, no access transistor, and linear even for sinh devices (differential: V.(G+ - G-)),
- ``i_nodal``, ``i_ngspice`` (n_vectors, cols) "A": output currents of each engine that ran,
- ``time_nodal``, ``time_ngspice`` () "s": wall time of the engine for the whole batch.

Read it with :func:`read_sweep`; summarize with :func:`summarize_sweep`.

Checkpoints and resume
----------------------
While running, each finished point is written atomically to ``OUTPUT.ckpt/pNNNNN.npz`` (no pickled objects)
next to the output, with the description hash in ``OUTPUT.ckpt/description.json``. Every checkpoint also
carries the hash of its description and of its point (``__check__``). Re-running the same command skips
finished points ("resuming: N of M points done"); a changed description is refused with a
:class:`ConfigError`. On resume every checkpoint is opened and checked: one that is truncated or corrupt,
belongs to another point, or was made from another description (e.g. description.json deleted or garbled
and the TOML changed) is reported by name and recomputed, so points of two descriptions are never mixed.
The final HDF5 file is assembled atomically from the checkpoints, then the checkpoint folder is removed.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import platform
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Mapping

import h5py
import numpy as np

from devicelab.errors import ConfigError, DevicelabError, InputFileError, ModelFileError, SimulationError
from devicelab.files import atomic_output, check_header, sha256_text, write_dataset, write_header
from devicelab.spice.sweep.budget import check_budget, estimate_cost
from devicelab.spice.sweep.config import SweepDescription, SweepPoint, load_description
from devicelab.spice.sweep.data import point_arrays
from devicelab.spice.sweep.engines import Engine, default_engines
from devicelab.spice.sweep.executor import SerialExecutor

log = logging.getLogger(__name__)

FORMAT = "devicelab.sweep"
FORMAT_VERSION = 1
_INT_PARAMS = ("index", "rows", "cols", "n_vectors", "repeat", "seed_g", "seed_v")
_OHM_PARAMS = ("r_row", "r_col", "r_driver", "r_sense")
_STR_PARAMS = ("cell", "device", "conductance", "inputs", "engines")
_ATTRS_KEY = "__attrs__"
_CHECK_KEY = "__check__"




@dataclass(frozen=True)
class SweepTask:
    """One unit of work for an executor: a grid point and the engines (by name) that solve it."""

    point: SweepPoint
    engines: Mapping[str, Engine]


@dataclass(frozen=True)
class PointResult:
    """Arrays (name -> ndarray, units as in the file format) and attributes of one finished point."""

    index: int
    arrays: dict
    attrs: dict


def run_point(task: SweepTask) -> PointResult:
    """Draw G and V for the point, run the ideal model and every engine of the point, time them.

    Devicelab errors are re-raised as :class:`SimulationError` naming the point; other exceptions get a
    note naming it.
    """
    point = task.point
    try:
        g, v = point_arrays(point)
        arrays: dict[str, np.ndarray] = {"g": g, "v": v}
        attrs = point.params()
        for name in ("ideal",) + point.engines:
            if name not in task.engines:
                raise ConfigError(f"no engine named {name!r} (have: {', '.join(sorted(task.engines))})")
            start = time.perf_counter()
            out = task.engines[name](point, g, v)
            elapsed = time.perf_counter() - start
            currents = np.asarray(out.currents, dtype=float)
            if currents.shape != (point.n_vectors, point.cols):
                raise SimulationError(f"engine {name!r} returned currents of shape {currents.shape}, "
                                      f"expected {(point.n_vectors, point.cols)}")
            arrays[f"i_{name}"] = currents
            if name != "ideal":
                arrays[f"time_{name}"] = np.asarray(elapsed, dtype=np.float64)  # 0-d, as read back from a checkpoint
            attrs.update({k: str(val) for k, val in out.info.items()})
    except DevicelabError as exc:
        raise SimulationError(f"sweep point {point.index} ({_label(point)}): {exc}",
                              getattr(exc, "log", "")) from exc
    except Exception as exc:  # a bug, not bad input: keep its traceback, say where it happened
        exc.add_note(f"while running sweep point {point.index} ({_label(point)})")
        raise
    return PointResult(point.index, arrays, attrs)


def _label(point: SweepPoint) -> str:
    return (f"{point.rows}x{point.cols}, r_row={point.r_row:g} ohm, r_col={point.r_col:g} ohm, {point.device.name}, "
            f"{point.cell}{', differential' if point.differential else ''}, G {point.conductance.name}, "
            f"inputs {point.inputs.name}, repeat {point.repeat}")


# --------------------------------------------------------------------------- checkpoints
def checkpoint_dir(output) -> Path:
    """The checkpoint folder of an output file: ``OUTPUT.ckpt`` next to it."""
    output = Path(output)
    return output.with_name(output.name + ".ckpt")


def _point_file(ckpt: Path, index: int) -> Path:
    return ckpt / f"p{index:05d}.npz"


def point_sha256(point: SweepPoint) -> str:
    """Hash of everything that determines a point's results (grid parameters, specs, seeds, engines)."""
    return sha256_text(json.dumps(dataclasses.asdict(point), sort_keys=True, default=str))


def _save_point(ckpt: Path, result: PointResult, check: dict) -> None:
    path = _point_file(ckpt, result.index)
    with atomic_output(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as fh:
            # no object arrays: checkpoints are read back with allow_pickle=False
            np.savez(fh, allow_pickle=False, **result.arrays, **{_ATTRS_KEY: np.array(json.dumps(result.attrs)),
                                                                 _CHECK_KEY: np.array(json.dumps(check))})


def _load_point(path: Path) -> tuple[PointResult, dict]:
    """A checkpoint and its check record; InputFileError naming the file if it cannot be read completely."""
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as z:  # our handle: closed on errors too
            arrays = {k: z[k] for k in z.files if k not in (_ATTRS_KEY, _CHECK_KEY)}
            attrs = json.loads(str(z[_ATTRS_KEY]))
            check = json.loads(str(z[_CHECK_KEY])) if _CHECK_KEY in z.files else {}
        return PointResult(int(attrs["index"]), arrays, attrs), check
    except Exception as exc:  # zip, zlib, numpy format, JSON or key errors all mean: not a usable checkpoint
        raise InputFileError(path, f"corrupt or truncated checkpoint ({type(exc).__name__}: {exc})") from exc


def _checkpoint_problem(path: Path, point: SweepPoint, digest: str) -> str | None:
    """Why the checkpoint of ``point`` at ``path`` cannot be used (None: it can)."""
    try:
        result, check = _load_point(path)
    except InputFileError as exc:
        return exc.detail
    if check.get("description_sha256") != digest:
        return "made from another sweep description (or without a description hash)"
    if check.get("point_sha256") != point_sha256(point) or result.index != point.index:
        return f"holds another point (index {result.index}), not point {point.index}"
    expected = {"g", "v", "i_ideal"} | {f"i_{e}" for e in point.engines}
    if not expected <= set(result.arrays):
        return f"lacks arrays {sorted(expected - set(result.arrays))}"
    return None


def _read_marker(marker: Path, notify) -> str | None:
    """The description hash recorded in ``description.json``, or None when it is missing or unreadable."""
    if not marker.is_file():
        return None
    try:
        found = json.loads(marker.read_text()).get("description_sha256")
        if not isinstance(found, str):
            raise ValueError("no description_sha256 text")
        return found
    except (ValueError, AttributeError, UnicodeDecodeError, OSError) as exc:
        notify(f"{marker} is unreadable ({exc}); checking every checkpoint against the description instead")
        return None


def _prepare_checkpoints(ckpt: Path, desc: SweepDescription, points: list[SweepPoint],
                         notify=log.info) -> set[int]:
    """Create or check the checkpoint folder; return the indices of the points already finished (and sound).

    Unusable checkpoints (truncated, corrupt, another point or another description) are reported through
    ``notify`` and deleted, so they are recomputed.
    """
    marker = ckpt / "description.json"
    digest = desc.sha256()
    found = _read_marker(marker, notify)
    if found is not None and found != digest:
        raise ConfigError(
            f"{ckpt}: these checkpoints were made from a different sweep description "
            f"(sha256 {found[:12]}..., now {digest[:12]}...); restore the original description, or "
            f"delete {ckpt} (or pass --overwrite) to start over")
    ckpt.mkdir(parents=True, exist_ok=True)
    if found is None:
        with atomic_output(marker) as tmp:
            tmp.write_text(json.dumps({"description_sha256": digest, "source": desc.source}, indent=1))
    by_index = {p.index: p for p in points}
    done = set()
    for path in sorted(ckpt.glob("p[0-9][0-9][0-9][0-9][0-9].npz")):
        index = int(path.stem[1:])
        point = by_index.get(index)
        problem = "no such point in this sweep" if point is None else _checkpoint_problem(path, point, digest)
        if problem is None:
            done.add(index)
        else:
            notify(f"checkpoint {path}: {problem}; recomputing it")
            path.unlink()
    return done


# --------------------------------------------------------------------------- running
def run_sweep(description: SweepDescription | str | Path, output, *, executor=None,
              engines: Mapping[str, Engine] | None = None, overwrite: bool = False,
              restart_if_changed: bool = False, progress: bool = True, max_memory: int | None = None,
              max_hours: float | None = None, jobs: int = 1, notify: Callable[[str], None] | None = None) -> Path:
    """Run every point of a sweep (skipping those already checkpointed) and write the HDF5 file.

    ``description`` is a validated description or a TOML path; ``executor`` an
    :class:`~devicelab.spice.sweep.executor.Executor` (default serial); ``engines`` maps engine names to
    callables (default :func:`devicelab.spice.sweep.engines.default_engines`). An existing output made
    from the same description is returned as is; one from another description, or checkpoints from
    another description, raise :class:`ConfigError` unless ``overwrite`` (always start over) or
    ``restart_if_changed`` (start over only then, e.g. for the demo). Before anything is allocated, the
    peak memory (``jobs`` workers at once) and time are estimated (:mod:`devicelab.spice.sweep.budget`) and
    a sweep beyond ``max_memory`` bytes (default: half the RAM) or ``max_hours`` is refused. ``notify``
    receives progress messages ("resuming: N of M points done", recomputed checkpoints; default: logging).
    Returns the output path.
    """
    desc = description if isinstance(description, SweepDescription) else load_description(description)
    output = Path(output)
    ckpt = checkpoint_dir(output)
    if overwrite or (restart_if_changed and _made_from_another(output, ckpt, desc.sha256())):
        shutil.rmtree(ckpt, ignore_errors=True)
        output.unlink(missing_ok=True)
    if output.exists() and not ckpt.exists():
        found = _file_description_hash(output)
        if found == desc.sha256():
            log.info("%s is complete for this description; nothing to do", output)
            return output
        raise ConfigError(f"{output} exists and was made from a different sweep description; "
                          f"choose another output or pass --overwrite")
    notify = notify or log.info
    points = desc.points()
    cost = estimate_cost(desc, points)
    check_budget(cost, max_memory, jobs, max_hours)
    notify(f"sweep {desc.name}: {len(points)} points, {cost.describe(jobs)}")
    if engines is None:
        engines = default_engines()
    resuming = ckpt.exists()
    done = _prepare_checkpoints(ckpt, desc, points, notify)
    todo = [SweepTask(p, dict(engines)) for p in points if p.index not in done]
    if resuming:
        notify(f"resuming: {len(done)} of {len(points)} points done")
    digest = desc.sha256()
    checks = {p.index: {"description_sha256": digest, "point_sha256": point_sha256(p)} for p in points}
    from tqdm import tqdm

    own_executor = executor is None
    executor = executor or SerialExecutor()
    try:
        with tqdm(total=len(points), initial=len(points) - len(todo), desc=f"sweep {desc.name}",
                  unit="point", disable=not progress) as bar:
            for result in executor.map_unordered(run_point, todo):
                _save_point(ckpt, result, checks[result.index])
                bar.update(1)
    finally:
        if own_executor:
            executor.close()
    _assemble(desc, ckpt, output, len(points))
    shutil.rmtree(ckpt)
    return output


def _made_from_another(output: Path, ckpt: Path, digest: str) -> bool:
    """Whether the checkpoints, or else the finished output, come from a description other than ``digest``."""
    found = _read_marker(ckpt / "description.json", log.info)
    if found is not None:
        return found != digest
    if output.exists() and not ckpt.exists():
        try:
            return _file_description_hash(output) != digest
        except ConfigError:
            return True
    return False


def _file_description_hash(path: Path) -> str | None:
    try:
        with h5py.File(path, "r") as fh:
            return check_header(fh, path, FORMAT, (FORMAT_VERSION,)).get("description_sha256")
    except (OSError, ModelFileError) as exc:
        raise ConfigError(f"{path} exists but is not a readable sweep file ({exc}); choose another output "
                          f"or pass --overwrite") from exc


def _assemble(desc: SweepDescription, ckpt: Path, output: Path, n_points: int) -> None:
    """Write the final HDF5 file atomically from the checkpoint folder."""
    results = [_load_point(_point_file(ckpt, k))[0] for k in range(n_points)]
    versions = sorted({r.attrs["ngspice_version"] for r in results if "ngspice_version" in r.attrs})
    provenance = {
        "description_sha256": desc.sha256(), "description": desc.canonical(), "source": desc.source,
        "source_text": desc.source_text, "files": dict(desc.files), "engines": list(desc.engines),
        "ngspice_version": ", ".join(versions), "numpy": np.__version__, "python": platform.python_version(),
        "finished_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    with atomic_output(output, suffix=".h5") as tmp, h5py.File(tmp, "w") as fh:
        write_header(fh, FORMAT, FORMAT_VERSION, provenance)
        grid = fh.create_group("grid")
        for key in results[0].attrs if results else ():
            if key in _INT_PARAMS or key in _OHM_PARAMS or key in _STR_PARAMS or key in ("v0", "differential"):
                _write_column(grid, key, [r.attrs[key] for r in results])
        points = fh.create_group("points")
        for r in results:
            group = points.create_group(f"p{r.index:05d}")
            for key, value in r.attrs.items():
                group.attrs[key] = value
            for name, data in r.arrays.items():
                write_dataset(group, name, data, _array_units(name))


def _write_column(grid, key: str, values: list) -> None:
    if key in _STR_PARAMS:
        write_dataset(grid, key, np.array(values, dtype=h5py.string_dtype()), "1")
    elif key in _INT_PARAMS:
        write_dataset(grid, key, np.array(values, dtype=np.int64), "1")
    elif key == "differential":
        write_dataset(grid, key, np.array(values, dtype=bool), "1")
    else:
        write_dataset(grid, key, np.array(values, dtype=float), "V" if key == "v0" else "ohm")


def _array_units(name: str) -> str:
    if name.startswith("g"):
        return "S"
    if name == "v":
        return "V"
    if name.startswith("i_"):
        return "A"
    if name.startswith("time_"):
        return "s"
    raise ModelFileError(f"no units known for sweep array {name!r}")
