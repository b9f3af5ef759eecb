"""File-level crossbar simulation behind ``devicelab crossbar simulate``: .npy in, .npy (and a plot) out."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from devicelab.errors import ConfigError, InputFileError
from devicelab.files import atomic_output, load_numpy
from devicelab.spice.crossbar.energy import ArrayEnergy, energy_from_nodes, ngspice_source_energy
from devicelab.spice.crossbar.netlist import crossbar_netlist
from devicelab.spice.crossbar.nodal import solve_nodal
from devicelab.spice.crossbar.plots import plot_ir_drop
from devicelab.spice.crossbar.simulate import simulate_ngspice
from devicelab.spice.crossbar.spec import CrossbarSpec, ideal_outputs
from devicelab.spice.names import check_array, check_number

ENGINES = ("ngspice", "nodal")
#: Largest plausible cell conductance (S): 100 ohm. Memory cells (PCM, RRAM, MRAM, 1T1R) stay well below
#: 1 mS; values at or above this are almost always uS given as S.
G_CELL_MAX = 1e-2
#: Largest plausible read current through one cell (A) with the full input voltage across it. Beyond it the
#: inputs are not read voltages (e.g. 5 V on a sinh cell) and the result would be meaningless.
I_CELL_MAX = 1e-2


@dataclass(frozen=True)
class SimulationSummary:
    """What a file-level run did: engine, shapes, wall time (s), the largest output current (A) and the
    largest relative deviation from the ideal V.G product (max |I - I_ideal| / max |I_ideal|)."""

    engine: str
    n_vectors: int
    cols: int
    elapsed: float
    max_current: float
    ideal_deviation: float
    energy: ArrayEnergy | None = None
    energy_path: Path | None = None


def energy_path_for(output: str | Path) -> Path:
    """Where ``--energy`` writes its JSON: next to ``output``, ``I.npy`` -> ``I.energy.json``."""
    output = Path(output)
    return output.with_name(output.stem + ".energy.json")


def load_array(path: str | Path, what: str, shape_hint: str) -> np.ndarray:
    """Load a .npy file as float64 without unpickling; InputFileError naming the file on any problem."""
    array = load_numpy(path, what)
    if not isinstance(array, np.ndarray) or not np.issubdtype(array.dtype, np.number):
        raise InputFileError(path, f"{what}: expected a numeric array {shape_hint}, got dtype {array.dtype}")
    if np.iscomplexobj(array):
        raise InputFileError(path, f"{what}: expected real numbers {shape_hint}, got a complex array "
                                   f"(dtype {array.dtype}); save the real part or the magnitude explicitly")
    try:
        return check_array(array, what, ndim=array.ndim if array.ndim else 1)
    except ConfigError as exc:
        raise InputFileError(path, str(exc)) from exc


def load_crossbar_inputs(spec: CrossbarSpec, conductances: str | Path, inputs: str | Path):
    """(g (S), v (V)) from .npy files, checked against ``spec``: InputFileError naming the file otherwise."""
    g = load_array(conductances, "conductances (S)", f"of shape {spec.g_shape}")
    if g.shape != spec.g_shape:
        raise InputFileError(conductances, f"expected shape {spec.g_shape} (from --rows/--cols"
                                           f"{'/--differential' if spec.differential else ''}), got {g.shape}")
    if np.any(g < 0):
        raise InputFileError(conductances, "conductances must be >= 0 S")
    if np.any(g >= G_CELL_MAX):
        bad = tuple(int(k) for k in np.argwhere(g >= G_CELL_MAX)[0])
        raise InputFileError(conductances, f"conductance {g[bad]:g} S at index {bad} is implausible for a memory "
                                           f"cell (expected < {G_CELL_MAX:g} S, i.e. more than {1 / G_CELL_MAX:g} "
                                           f"ohm); conductances are in S: multiply uS values by 1e-6")
    v = load_array(inputs, "input voltages (V)", f"of shape (n_vectors, {spec.rows})")
    v = v[None, :] if v.ndim == 1 else v
    if v.ndim != 2 or v.shape[1] != spec.rows:
        raise InputFileError(inputs, f"expected shape (n_vectors, {spec.rows}): one input vector per row, "
                                     f"one column per crossbar row; got {v.shape}")
    _check_cell_current(spec, g, v, inputs)
    return g, v


def _check_cell_current(spec: CrossbarSpec, g: np.ndarray, v: np.ndarray, inputs) -> None:
    """Refuse inputs that would drive more than :data:`I_CELL_MAX` through a cell (full input across it)."""
    v_max = float(np.max(np.abs(v)))
    g_max = float(np.max(g))
    if spec.device == "sinh" and spec.v0 is not None:  # CrossbarSpec requires v0 for sinh cells
        i_max = g_max * spec.v0 * np.sinh(min(v_max / spec.v0, 700.0))
        law = f"I = G v0 sinh(V/v0) with v0 = {spec.v0:g} V"
    else:
        i_max = g_max * v_max
        law = "I = G V"
    if i_max > I_CELL_MAX:
        raise InputFileError(inputs, f"input {v_max:g} V across a cell of G = {g_max:.3g} S gives {i_max:.3g} A "
                                     f"({law}); expected read voltages that keep a cell below {I_CELL_MAX:g} A "
                                     f"(inputs are in V, typically 0.05 to 0.5 V)")


def with_print(netlist: str) -> str:
    """``netlist`` plus a ``.print`` of every saved vector of its analysis, so that ``ngspice -b`` (batch mode,
    which prints only what ``.print`` asks for) shows the output currents (A), one line per input vector."""
    lines = netlist.rstrip().splitlines()
    saved = next((line.split()[1:] for line in lines if line.lower().startswith(".save ")), [])
    analysis = next((line.split()[0][1:].lower() for line in lines
                     if line.split() and line.split()[0].lower() in (".dc", ".op")), None)
    if not saved or analysis is None or lines[-1].lower() != ".end":
        return netlist
    comment = "* output currents (A) printed by ngspice -b, one line per input vector (dc sweep point of vidx)"
    width = 16 * (len(saved) + 2) + 8  # ngspice wraps printed columns at .width (default 80 characters)
    return "\n".join(lines[:-1] + [comment, f".width out={width}", f".print {analysis} " + " ".join(saved),
                                   ".end"]) + "\n"


def write_netlist_file(spec: CrossbarSpec, conductances: str | Path, inputs: str | Path, output: str | Path) -> int:
    """Write the ngspice netlist of ``spec`` with G and V from .npy files to ``output`` (atomically);
    returns the number of lines. ``ngspice -b output`` runs it by hand and prints the output currents
    (see :func:`with_print`)."""
    g, v = load_crossbar_inputs(spec, conductances, inputs)
    text = with_print(crossbar_netlist(spec, g, v))
    with atomic_output(output, suffix=".cir") as tmp:
        tmp.write_text(text)
    return text.count("\n")


def simulate_files(spec: CrossbarSpec, conductances: str | Path, inputs: str | Path, output: str | Path,
                   engine: str = "nodal", plot: str | Path | None = None, timeout: float = 600.0,
                   t_read: float | None = None) -> SimulationSummary:
    """Simulate ``spec`` with G (S) from ``conductances`` and input vectors (V) from ``inputs`` (.npy files);
    write the (n_vectors, cols) output currents (A) to ``output`` atomically; optionally an IR-drop heat map
    (PNG) of the first input vector (nodal cell voltages) to ``plot``.

    With ``t_read`` (s, > 0) also writes the energy of every input vector's MVM (J, with its split into
    devices, access transistors, wires, drivers and senses; :mod:`devicelab.spice.crossbar.energy`) as JSON
    to :func:`energy_path_for` ``(output)``. The split always comes from the nodal node voltages; with the
    ngspice engine the ``source`` energy is ngspice's (driver branch currents) and the nodal one is stored as
    ``source_nodal`` for comparison.
    """
    if engine not in ENGINES:
        raise ConfigError(f"engine: expected one of {ENGINES}, got {engine!r}")
    if t_read is not None:
        check_number(t_read, "t_read (s)", positive=True)
    g, v = load_crossbar_inputs(spec, conductances, inputs)
    start = time.perf_counter()
    source_spice = None
    if engine == "ngspice" and t_read is not None:
        currents, source_spice = ngspice_source_energy(spec, g, v, t_read, timeout=timeout)
    elif engine == "ngspice":
        currents = simulate_ngspice(spec, g, v, timeout=timeout)
    else:
        currents = solve_nodal(spec, g, v)
    elapsed = time.perf_counter() - start
    with atomic_output(output, suffix=".npy") as tmp:
        np.save(tmp, currents)
    energy, energy_path = None, None
    if t_read is not None:
        _, nodes = solve_nodal(spec, g, v, return_node_voltages=True)
        energy = energy_from_nodes(spec, g, v, nodes, t_read)
        record = {"format": "devicelab.crossbar_energy", "format_version": 1, "engine": engine,
                  "spec": spec.to_dict(), **energy.to_dict()}
        if source_spice is not None:
            record["per_vector"]["source_nodal"] = record["per_vector"]["source"]
            record["per_vector"]["source"] = source_spice.tolist()
            record["mean"]["source_nodal"] = record["mean"]["source"]
            record["mean"]["source"] = float(np.mean(source_spice))
            energy = replace(energy, source=source_spice)
        energy_path = energy_path_for(output)
        with atomic_output(energy_path, suffix=".json") as tmp:
            tmp.write_text(json.dumps(record, indent=1) + "\n")
    if plot is not None:
        _, nodes = solve_nodal(spec, g, v[:1], return_node_voltages=True)
        figure = plot_ir_drop(nodes.cell[0], v[0], title=f"IR drop, {spec.rows}x{spec.cols}, input vector 0")
        with atomic_output(plot, suffix=".png") as tmp:
            figure.savefig(tmp, format="png", dpi=120)
    ideal = ideal_outputs(spec, g, v)
    scale = np.max(np.abs(ideal))
    deviation = float(np.max(np.abs(currents - ideal)) / scale) if scale > 0 else 0.0
    return SimulationSummary(engine, v.shape[0], spec.cols, elapsed, float(np.max(np.abs(currents))), deviation,
                             energy, energy_path)
