"""Crossbar output currents from ngspice: netlist -> isolated ngspice run -> (n_vectors, cols) currents."""

from __future__ import annotations

import numpy as np

from devicelab.errors import SimulationError
from devicelab.spice.crossbar.netlist import crossbar_netlist, sense_vector_names
from devicelab.spice.crossbar.spec import CrossbarSpec, check_inputs, combine_outputs
from devicelab.spice.runner import NetlistResult, run_netlist


def simulate_ngspice(spec: CrossbarSpec, g, v, timeout: float = 600.0, return_result: bool = False):
    """Output currents (A), shape (n_vectors, cols), of ``spec`` simulated by ngspice in one DC analysis.

    ``g`` (S) is (rows, cols), or (2, rows, cols) for differential arrays (output I+ - I-); ``v`` (V) is
    (n_vectors, rows). ``timeout`` (s) bounds each ngspice attempt. With ``return_result=True`` returns
    ``(currents, NetlistResult)`` (log, attempts, elapsed time). Raises SimulationError on failure.
    """
    n_vectors = check_inputs(spec, v).shape[0]
    result = run_netlist(crossbar_netlist(spec, g, v), timeout=timeout)
    currents = currents_from_result(spec, result, n_vectors)
    return (currents, result) if return_result else currents


def currents_from_result(spec: CrossbarSpec, result: NetlistResult, n_vectors: int) -> np.ndarray:
    """(n_vectors, cols) output currents (A) from the sense-source vectors of a crossbar run."""
    vectors = result.vectors()
    missing = [name for name in sense_vector_names(spec) if name not in vectors]
    if missing:
        raise SimulationError(f"ngspice result lacks the sense currents {missing[:3]}", result.log)
    physical = np.stack([vectors[name] for name in sense_vector_names(spec)], axis=1)
    if physical.shape[0] != n_vectors:
        raise SimulationError(f"ngspice returned {physical.shape[0]} sweep points for {n_vectors} input vectors",
                              result.log)
    return combine_outputs(spec, physical)
