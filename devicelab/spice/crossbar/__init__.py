"""Crossbar circuits: the canonical topology, netlists, the exact nodal solver, ngspice runs, plots.

SI units everywhere: S, ohm, V, A.

- ``CrossbarSpec(rows, cols, r_row=0, r_col=0, r_driver=0, r_sense=0, device="linear"|"sinh", v0=None,
  cell="passive"|"1t1r", transistor=AccessTransistor(), differential=False)``: frozen, validating. Row i is
  driven at column 0 through r_driver; column p is sensed by a 0 V virtual ground at row N-1 through r_sense
  (zero resistances merge nodes). Differential: physical columns 2j (G+) and 2j+1 (G-), output I+ - I-.
- ``AccessTransistor``: level-1 NMOS of 1T1R cells (model card ``dl_nmos_access`` in
  ``circuits/crossbar_cells.lib``).
- ``crossbar_netlist(spec, g, v) -> str``: deterministic netlist, all vectors as points of one ``.dc`` sweep.
- ``simulate_ngspice(spec, g, v) -> currents (n_vectors, cols)`` A through ngspice.
- ``solve_nodal(spec, g, v, return_node_voltages=False)``: exact sparse nodal solution (Newton for sinh cells
  and access transistors); agrees with ngspice to about 1e-10 relative.
- ``array_energy(spec, g, v, t_read) -> ArrayEnergy``: energy (J) of each input vector's MVM from the nodal
  node voltages, split into devices, access transistors, wires, drivers, senses; ``ngspice_source_energy``
  reads the same source energy from ngspice's driver currents.
- ``ideal_currents(g, v) -> v @ g`` (A; differential: v @ (G+ - G-)).
- ``simulate_files`` is the file-level run behind ``devicelab crossbar simulate``; plots return Figures.
"""

from devicelab._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    ".spec": ["AccessTransistor", "CrossbarSpec", "Topology", "ideal_currents", "topology"],
    ".netlist": ["crossbar_netlist", "driver_vector_names", "sense_vector_names"],
    ".energy": ["ArrayEnergy", "array_energy", "energy_from_nodes", "ngspice_source_energy"],
    ".nodal": ["NodeVoltages", "solve_nodal"],
    ".simulate": ["simulate_ngspice"],
    ".files": ["simulate_files"],
    ".plots": ["plot_error_vs_size", "plot_ir_drop"],
})
