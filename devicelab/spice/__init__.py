"""Stage 2: SPICE co-simulation of crossbars (and ADCs) through ngspice, with a fast nodal solver.

Core crossbar API (helper "spice"; SI units everywhere: S, ohm, V, A, s):

- ``CrossbarSpec(rows, cols, r_row=0, r_col=0, r_driver=0, r_sense=0, device="linear"|"sinh", v0=None,
  cell="passive"|"1t1r", transistor=AccessTransistor(), differential=False)``: frozen, validating.
  Canonical topology in :mod:`devicelab.spice.crossbar` (row i driven at column 0 through r_driver, column
  p sensed by a 0 V virtual ground at row N-1 through r_sense; zero resistances merge nodes). Differential:
  physical columns 2j (G+) and 2j+1 (G-), output I+ - I-.
- ``AccessTransistor(v_gate=1.8, vt0=0.5, kp=200e-6, w=1e-6, l=0.1e-6, lambda_=0)``: level-1 NMOS of 1T1R
  cells (model card ``dl_nmos_access`` in ``circuits/crossbar_cells.lib``).
- ``crossbar_netlist(spec, g, v) -> str``: deterministic netlist; g (rows, cols) or (2, rows, cols) S,
  v (n_vectors, rows) V; all vectors are points of ONE ``.dc`` sweep of an index source (``vidx``), so
  ngspice reorders the matrix once. Output vectors: ``vsns<p>#branch`` (``sense_vector_names(spec)``).
- ``run_netlist(text, timeout=300, retry=True) -> NetlistResult`` (``.plots``, ``.vectors()``, ``.log``,
  ``.attempts``, ``.elapsed``): ngspice (PySpice shared library) in an isolated spawn child with a timeout;
  convergence failures retried (``runner.RETRY_OPTIONS``), then SimulationError with ``.log``.
- ``simulate_ngspice(spec, g, v, timeout=600, return_result=False) -> currents (n_vectors, cols) A``.
- ``solve_nodal(spec, g, v, return_node_voltages=False) -> currents`` (or ``(currents, NodeVoltages)``
  with ``.row``, ``.col``, ``.mid``, ``.cell`` (n_vectors, rows, physical_cols) V): scipy sparse LU,
  factored once for the batch; Newton for sinh devices and access transistors. Agrees with ngspice to
  ~1e-10 relative (tested to 1e-6).
- ``ideal_currents(g, v) -> v @ g`` (A; differential: v @ (G+ - G-)).
- Plots (matplotlib Figures): ``plot_ir_drop(cell_voltages, applied=None)``,
  ``plot_error_vs_size(sizes, {label: errors})``. ``simulate_files(spec, G.npy, V.npy, I.npy, engine, plot)``
  is the file-level run behind ``devicelab crossbar simulate``.
- ``check_name(name)``, ``check_number(x, what)``, ``spice_float(x)``: validation of everything written to
  netlists; ``load_library(name) -> Library`` loads and validates ``circuits/<name>.lib``.
"""

from devicelab.spice.crossbar import AccessTransistor, CrossbarSpec, Topology, ideal_currents, topology
from devicelab.spice.crossbar_files import simulate_files
from devicelab.spice.crossbar_plots import plot_error_vs_size, plot_ir_drop
from devicelab.spice.library import Library, load_library
from devicelab.spice.names import check_name, check_number, spice_float
from devicelab.spice.netlist import crossbar_netlist, sense_vector_names
from devicelab.spice.nodal import NodeVoltages, solve_nodal
from devicelab.spice.runner import NetlistResult, run_netlist
from devicelab.spice.simulate import simulate_ngspice

__all__ = [
    "AccessTransistor",
    "CrossbarSpec",
    "Library",
    "NetlistResult",
    "NodeVoltages",
    "Topology",
    "check_name",
    "check_number",
    "crossbar_netlist",
    "ideal_currents",
    "load_library",
    "plot_error_vs_size",
    "plot_ir_drop",
    "run_netlist",
    "sense_vector_names",
    "simulate_files",
    "simulate_ngspice",
    "solve_nodal",
    "spice_float",
    "topology",
]

# Sweeps (TOML grid -> checkpointed HDF5 "devicelab.sweep" file; format in devicelab.spice.sweep's docstring).
from devicelab.spice.executor import DaskExecutor, LocalExecutor, SerialExecutor, make_executor  # noqa: E402
from devicelab.spice.sweep import run_sweep  # noqa: E402
from devicelab.spice.sweep_config import SweepDescription, SweepPoint, load_description  # noqa: E402
from devicelab.spice.sweep_results import SweepData, SweepRecord, read_sweep, summarize_sweep  # noqa: E402

__all__ += ["DaskExecutor", "LocalExecutor", "SerialExecutor", "make_executor", "run_sweep", "SweepDescription",
            "SweepPoint", "load_description", "SweepData", "SweepRecord", "read_sweep", "summarize_sweep"]

# ADCs (helper "adc"): SAR and single-slope netlists, transient characterization, static metrics, plots.
from devicelab.spice.adc_characterize import ADCCharacterization, ADCRun, characterize_adc, simulate_adc  # noqa: E402
from devicelab.spice.adc_metrics import Linearity, enob_from_sweep, linearity, transitions_from_sweep  # noqa: E402
from devicelab.spice.adc_netlist import RampADCSpec, SARADCSpec, build_ramp_netlist, build_sar_netlist  # noqa: E402
from devicelab.spice.adc_plots import plot_inl_dnl, plot_transfer_curve  # noqa: E402

__all__ += ["ADCCharacterization", "ADCRun", "characterize_adc", "simulate_adc", "Linearity", "enob_from_sweep",
            "linearity", "transitions_from_sweep", "RampADCSpec", "SARADCSpec", "build_ramp_netlist",
            "build_sar_netlist", "plot_inl_dnl", "plot_transfer_curve"]
