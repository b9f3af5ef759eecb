"""Stage 2: SPICE co-simulation through ngspice, with a fast exact nodal solver.

Subpackages: :mod:`~devicelab.spice.crossbar` (topology, netlists, nodal solver, ngspice runs),
:mod:`~devicelab.spice.adc` (ADC netlists and characterization) and :mod:`~devicelab.spice.sweep`
(checkpointed sweeps). Shared by all three: :func:`run_netlist` (ngspice in an isolated child process with a
timeout and convergence retries), :func:`load_library` (``circuits/*.lib``) and the validation of everything
written to a netlist (:func:`check_name`, :func:`check_number`, :func:`spice_float`).
SI units everywhere: S, ohm, V, A, s, F, J.
"""

from devicelab._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    ".names": ["check_name", "check_number", "spice_float"],
    ".library": ["Library", "load_library"],
    ".runner": ["NetlistResult", "run_netlist"],
    ".crossbar": ["AccessTransistor", "ArrayEnergy", "CrossbarSpec", "array_energy", "NodeVoltages", "Topology", "crossbar_netlist", "ideal_currents", "plot_error_vs_size", "plot_ir_drop", "sense_vector_names", "simulate_files", "simulate_ngspice", "solve_nodal", "topology"],
    ".sweep": ["DaskExecutor", "LocalExecutor", "SerialExecutor", "make_executor", "run_sweep", "SweepDescription", "SweepPoint", "load_description", "SweepData", "SweepRecord", "read_sweep", "summarize_sweep"],
    ".adc": ["ADCCharacterization", "ADCRun", "characterize_adc", "simulate_adc", "Linearity", "enob_from_sweep", "linearity", "transitions_from_sweep", "RampADCSpec", "SARADCSpec", "build_ramp_netlist", "build_sar_netlist", "plot_inl_dnl", "plot_transfer_curve"],
})
