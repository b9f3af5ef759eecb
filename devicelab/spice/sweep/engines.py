"""The engines of a sweep (see :data:`devicelab.spice.sweep.run.Engine`) on top of the spice stage's public API.

- "ideal": :func:`~devicelab.spice.ideal_currents`, I = V.G (no wires, and linear even for sinh devices);
- "nodal": :func:`~devicelab.spice.solve_nodal`, the sparse nodal solver;
- "ngspice": :func:`~devicelab.spice.simulate_ngspice`, one DC analysis for all vectors of the point, in an
  isolated ngspice child process; keeps ``ngspice_version``, ``netlist_sha256`` (SHA-256 of the netlist text,
  which is deterministic) and ``ngspice_attempts`` (1 unless convergence retries were needed).

Units: g in S, v in V, currents in A.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import numpy as np

from devicelab.files import sha256_text
from devicelab.spice.crossbar.netlist import crossbar_netlist
from devicelab.spice.crossbar.nodal import solve_nodal
from devicelab.spice.crossbar.simulate import simulate_ngspice
from devicelab.spice.crossbar.spec import CrossbarSpec, ideal_outputs
from devicelab.spice.sweep.config import SweepPoint


class EngineOutput(NamedTuple):
    """What an engine returns: output currents (n_vectors, cols) in A and string attributes to keep
    with the point (e.g. ``netlist_sha256``, ``ngspice_version``)."""

    currents: np.ndarray
    info: dict


#: An engine solves one point: ``engine(point, g, v) -> EngineOutput`` with g in S of shape (rows, cols)
#: or (2, rows, cols) when differential (G+, G-) and v (n_vectors, rows) in V. Engines are looked up by name:
#: "ideal" (required), "nodal", "ngspice". They must be picklable (module-level functions) to run in
#: worker processes.
Engine = Callable[[SweepPoint, np.ndarray, np.ndarray], EngineOutput]



def crossbar_spec(point: SweepPoint):
    """The :class:`~devicelab.spice.CrossbarSpec` of a sweep point (with its access transistor for 1T1R)."""
    extra: dict[str, Any] = {} if point.transistor is None else {"transistor": point.transistor}
    return CrossbarSpec(rows=point.rows, cols=point.cols, r_row=point.r_row, r_col=point.r_col,
                        r_driver=point.r_driver, r_sense=point.r_sense, device=point.device.kind,
                        v0=point.device.v0, cell=point.cell, differential=point.differential,
                        devices_per_polarity=point.devices_per_polarity, **extra)


def ideal_engine(point: SweepPoint, g, v) -> EngineOutput:
    """Ideal V.G currents (A) of the point's layout (multi-device cells: their combined outputs)."""
    return EngineOutput(ideal_outputs(crossbar_spec(point), g, v), {})


def nodal_engine(point: SweepPoint, g, v) -> EngineOutput:
    """Output currents (A) from the nodal solver."""
    return EngineOutput(solve_nodal(crossbar_spec(point), g, v), {})


def ngspice_engine(point: SweepPoint, g, v) -> EngineOutput:
    """Output currents (A) from ngspice, with the version, netlist hash and attempts as attributes."""
    spec = crossbar_spec(point)
    currents, result = simulate_ngspice(spec, g, v, return_result=True)
    info = {"ngspice_version": result.ngspice_version or "unknown",
            "netlist_sha256": sha256_text(crossbar_netlist(spec, g, v)),
            "ngspice_attempts": result.attempts}
    return EngineOutput(currents, info)


def default_engines() -> dict:
    """Engine name -> engine callable: "ideal", "nodal" and "ngspice"."""
    return {"ideal": ideal_engine, "nodal": nodal_engine, "ngspice": ngspice_engine}
