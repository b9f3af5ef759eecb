"""Energy of one analog matrix-vector multiplication (MVM) in the crossbar circuit, from its node voltages.

A read applies the input vector for ``t_read`` seconds as a DC bias (the circuit is at its DC operating
point for the whole pulse; the energy that charges line capacitances is periphery energy, see
:mod:`devicelab.inference.energy`). Per input vector k:

- source energy ``E_src = t_read * sum_i V_i I_i`` with I_i the current row driver i delivers. By Kirchhoff's
  current law at the row nodes (connected only to the driver, the row wire and the cells) it equals the sum
  of the cell currents of row i, computed from the node voltages with the cell's own I-V;
- its split into dissipation (J) in the resistive devices (``devices``), the 1T1R access transistors
  (``access_transistors``: channel plus ngspice's ``gmin`` junction conductances; counted separately from
  the devices, ``cells`` is their sum), the row and column wire segments (``row_wires``, ``col_wires``) and
  the driver and sense resistances (``drivers``, ``senses``), each ``t_read * sum over elements of V I``.

Energy conservation (Tellegen's theorem) makes ``source`` equal the sum of the dissipations whenever the node
voltages satisfy KCL; :attr:`ArrayEnergy.conservation_error` measures it. The ideal sources at the column
virtual grounds (0 V) and the word line (no gate current) deliver no power. The ngspice reference
(:func:`ngspice_source_energy`) reads the branch currents of the row drivers in the same netlist that
``devicelab crossbar simulate --engine ngspice`` runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from devicelab.errors import SimulationError
from devicelab.spice.crossbar.netlist import crossbar_netlist, driver_vector_names
from devicelab.spice.crossbar.nodal import NodeVoltages, solve_nodal
from devicelab.spice.crossbar.simulate import currents_from_result
from devicelab.spice.crossbar.spec import (
    GMIN,
    CrossbarSpec,
    check_conductances,
    check_inputs,
    physical_conductances,
)
from devicelab.spice.names import check_number
from devicelab.spice.runner import run_netlist

COMPONENTS = ("devices", "access_transistors", "row_wires", "col_wires", "drivers", "senses")
"""Names of the dissipation terms of :class:`ArrayEnergy` (J per input vector)."""


@dataclass(frozen=True)
class ArrayEnergy:
    """Energy of each input vector's MVM in the crossbar (J, arrays of shape (n_vectors,)).

    ``source``: delivered by the row drivers, t_read sum_i V_i I_i; ``devices``: dissipated in the resistive
    devices; ``access_transistors``: in the 1T1R access transistors (channel and gmin junctions; 0 for passive
    cells); ``row_wires``, ``col_wires``: in the wire segments; ``drivers``, ``senses``: in the driver and sense
    resistances; ``t_read``: read pulse length (s); ``row_currents`` (n_vectors, rows) the current each driver
    delivers (A); ``column_currents`` (n_vectors, physical_cols) the current each column carries into its sense
    node (A; the sum of its cell currents, 1T1R gmin leakage of ~1e-12 S x V neglected).
    """

    t_read: float
    source: np.ndarray
    devices: np.ndarray
    access_transistors: np.ndarray
    row_wires: np.ndarray
    col_wires: np.ndarray
    drivers: np.ndarray
    senses: np.ndarray
    row_currents: np.ndarray | None = None
    column_currents: np.ndarray | None = None

    @property
    def cells(self) -> np.ndarray:
        """Dissipation in the cells (J): devices plus access transistors."""
        return self.devices + self.access_transistors

    @property
    def wires(self) -> np.ndarray:
        """Dissipation in the row and column wire segments (J)."""
        return self.row_wires + self.col_wires

    @property
    def dissipated(self) -> np.ndarray:
        """Sum of all dissipation terms (J); equals ``source`` by energy conservation."""
        return sum(getattr(self, name) for name in COMPONENTS)

    @property
    def conservation_error(self) -> float:
        """max_k |source - dissipated| / max_k |source| (0 when no energy flows)."""
        scale = float(np.max(np.abs(self.source), initial=0.0))
        return float(np.max(np.abs(self.source - self.dissipated), initial=0.0) / scale) if scale > 0 else 0.0

    def to_dict(self) -> dict:
        """JSON-ready dict: units, t_read (s), per-vector lists and their means (J)."""
        per_vector = {name: getattr(self, name).tolist() for name in ("source", *COMPONENTS)}
        per_vector.update(cells=self.cells.tolist(), wires=self.wires.tolist())
        return {"units": "J", "t_read_s": self.t_read, "n_vectors": int(self.source.size),
                "mean": {name: float(np.mean(values)) for name, values in per_vector.items()},
                "per_vector": per_vector, "conservation_error": self.conservation_error}


def cell_currents(spec: CrossbarSpec, g_phys: np.ndarray, v_device: np.ndarray) -> np.ndarray:
    """Current (A) through each resistive device, row to column side, for device voltages ``v_device`` (V).

    ``g_phys`` (S) is (rows, physical_cols); ``v_device`` broadcasts against it. Linear: G V; sinh:
    G v0 sinh(V / v0) (the element equations of the netlists and the nodal solver).
    """
    if spec.device == "linear":
        return g_phys * v_device
    return g_phys * spec.v0 * np.sinh(v_device / spec.v0)


def energy_from_nodes(spec: CrossbarSpec, g, v, nodes: NodeVoltages, t_read: float) -> ArrayEnergy:
    """:class:`ArrayEnergy` of input vectors ``v`` (V, (n_vectors, rows)) from solved node voltages.

    ``g`` (S) as for :func:`~devicelab.spice.crossbar.nodal.solve_nodal`; ``nodes`` its NodeVoltages for
    the same ``v``; ``t_read`` (s, > 0) the read pulse length.
    """
    t_read = check_number(t_read, "t_read (s)", positive=True)
    g_phys = physical_conductances(spec, check_conductances(spec, g))
    v = check_inputs(spec, v)
    if nodes.row.shape != (v.shape[0], spec.rows, spec.physical_cols):
        raise SimulationError(f"node voltages of shape {nodes.row.shape} do not belong to {v.shape[0]} input "
                              f"vector(s) of a {spec.rows}x{spec.physical_cols} physical array")
    row, col = nodes.row, nodes.col
    bottom = nodes.mid if spec.cell == "1t1r" else col
    v_device = row - bottom
    i_device = cell_currents(spec, g_phys, v_device)

    def total(power: np.ndarray) -> np.ndarray:
        return t_read * power.reshape(power.shape[0], -1).sum(axis=1)

    zero = np.zeros(v.shape[0])
    source = t_read * np.einsum("ki,ki->k", v, i_device.sum(axis=2))
    devices = total(i_device * v_device)
    transistors = zero
    if spec.cell == "1t1r":
        # KCL at the drain node: the device current leaves through the channel and the drain junction's gmin
        i_channel = i_device - GMIN * nodes.mid
        transistors = total(i_channel * (nodes.mid - col) + GMIN * (nodes.mid**2 + col**2))
    row_wires = total(np.diff(row, axis=2) ** 2) / spec.r_row if spec.r_row > 0 else zero
    col_wires = total(np.diff(col, axis=1) ** 2) / spec.r_col if spec.r_col > 0 else zero
    drivers = total((v - row[:, :, 0]) ** 2) / spec.r_driver if spec.r_driver > 0 else zero
    senses = total(col[:, -1, :] ** 2) / spec.r_sense if spec.r_sense > 0 else zero
    return ArrayEnergy(t_read, source, devices, transistors, row_wires, col_wires, drivers, senses,
                       i_device.sum(axis=2), i_device.sum(axis=1))


def array_energy(spec: CrossbarSpec, g, v, t_read: float, return_currents: bool = False):
    """Energy (J) of each input vector's MVM, from the exact nodal solution of ``spec``.

    ``g`` (S): (rows, cols), or (2, rows, cols) differential; ``v`` (V): (n_vectors, rows); ``t_read`` (s, > 0).
    Returns :class:`ArrayEnergy`, or ``(currents (A), ArrayEnergy)`` with ``return_currents=True``.
    """
    check_number(t_read, "t_read (s)", positive=True)
    currents, nodes = solve_nodal(spec, g, v, return_node_voltages=True)
    energy = energy_from_nodes(spec, g, v, nodes, t_read)
    return (currents, energy) if return_currents else energy


def ngspice_source_energy(spec: CrossbarSpec, g, v, t_read: float, timeout: float = 600.0):
    """ngspice's output currents (A, (n_vectors, cols)) and source energy (J, (n_vectors,)) of each input vector.

    The source energy is t_read times the power delivered by the row drivers, -sum_i V_i I(bdrv_i), read from
    their branch currents in the same netlist as :func:`~devicelab.spice.crossbar.simulate.simulate_ngspice`
    (with ``save_drivers=True``). Raises SimulationError if ngspice fails or lacks a vector.
    """
    t_read = check_number(t_read, "t_read (s)", positive=True)
    v = check_inputs(spec, v)
    result = run_netlist(crossbar_netlist(spec, g, v, save_drivers=True), timeout=timeout)
    currents = currents_from_result(spec, result, v.shape[0])
    vectors = result.vectors()
    missing = [name for name in driver_vector_names(spec) if name not in vectors]
    if missing:
        raise SimulationError(f"ngspice result lacks the driver currents {missing[:3]}", result.log)
    branch = np.stack([vectors[name] for name in driver_vector_names(spec)], axis=1)
    return currents, -t_read * np.einsum("ki,ki->k", v, branch)
