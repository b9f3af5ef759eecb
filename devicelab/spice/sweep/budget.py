"""Up-front memory and time estimates of a sweep, and the limit that refuses a sweep too big for the machine.

The nodal solver's peak memory grows with the number of cells (sparse LU of a 2-D resistive grid, whose fill
grows a little faster than the node count); its time a little faster still. The constants below were measured
on this project's reference machine (2 cores, numpy/scipy SuperLU) with ``python benchmarks/sweep_budget.py``,
which prints the peak resident memory (``ru_maxrss``) and wall time of one solve per size:

=======  ============  ======  ======================  ==================
engine   rows x cols   device  peak memory (per cell)  time (16 vectors)
=======  ============  ======  ======================  ==================
nodal    64 x 64       linear  11 MiB (2.8 kB)         0.11 s
nodal    128 x 128     linear  43 MiB (2.7 kB)         0.73 s
nodal    256 x 256     linear  185 MiB (3.0 kB)        4.7 s
nodal    256 x 256     sinh    228 MiB (3.7 kB)        17 s
ngspice  32 x 32       linear  62 MiB (child process)  1.6 s
ngspice  64 x 64       linear  67 MiB                  38 s
ngspice  64 x 64       sinh    76 MiB                  55 s
=======  ============  ======  ======================  ==================

The estimate rounds these up so it errs on the safe side: nodal 4 kB per cell plus the dense arrays, time
~ cells^1.4; ngspice 64 MiB plus 2 kB per cell, time ~ cells^2.3 (ngspice points are also bounded by
``ngspice_max_size``); nonlinear cells cost 4x (nodal) and 1.5x (ngspice) the linear time. These are estimates
for refusing absurd requests (a 100000 x 100000 array, 74.5 GiB for G alone) before allocating anything, not
predictions to plan a cluster with.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from devicelab.errors import ConfigError
from devicelab.spice.sweep.config import SweepDescription, SweepPoint

#: Peak bytes per cell of one nodal solve (sparse matrices and LU factors), rounded up from the table above.
NODAL_BYTES_PER_CELL = 4096
#: Peak bytes of one ngspice run: a fixed child process (Python, libngspice) plus bytes per cell.
NGSPICE_BASE_BYTES = 64 * 2**20
NGSPICE_BYTES_PER_CELL = 2048
#: Seconds of one linear ngspice run of 64 x 64 cells (16 vectors), and the growth exponent in cells.
NGSPICE_SECONDS_64 = 40.0
NGSPICE_TIME_EXPONENT = 2.3
#: Seconds of one linear nodal solve of 256 x 256 cells (16 vectors), and the growth exponent in cells.
NODAL_SECONDS_256 = 5.0
NODAL_TIME_EXPONENT = 1.4
#: Nonlinear (sinh, 1T1R) solves need Newton iterations: this many times the linear time (nodal, ngspice).
NONLINEAR_TIME_FACTOR = {"nodal": 4.0, "ngspice": 1.5}
#: Default ``--max-memory`` (bytes) when the machine's RAM is unknown.
DEFAULT_MAX_MEMORY = 8 * 2**30


@dataclass(frozen=True)
class SweepCost:
    """Estimated peak memory of the largest point (bytes, per worker) and total compute time (s)."""

    peak_bytes: int
    total_seconds: float
    largest: str

    def describe(self, jobs: int = 1) -> str:
        """One line: peak memory with ``jobs`` workers and total time, in GiB and hours."""
        return (f"estimated peak memory {self.peak_bytes * jobs / 2**30:.3g} GiB ({jobs} worker(s), largest point "
                f"{self.largest}), compute time {self.total_seconds / 3600:.3g} h")


def point_cost(point: SweepPoint) -> tuple[int, float]:
    """(peak bytes, seconds) of one point: the dense G, V and current arrays plus each engine's solve."""
    cells = point.rows * point.cols * (2 if point.differential else 1)
    dense = 8 * (cells + point.n_vectors * (point.rows + 4 * point.cols) + 2 * cells * point.n_vectors)
    peak: float = dense
    seconds = 0.0
    extra = 1.5 if point.cell == "1t1r" else 1.0  # a middle node and a transistor per cell
    vectors = max(point.n_vectors / 16, 0.25)
    for engine in point.engines:
        if engine == "ngspice":
            need = NGSPICE_BASE_BYTES + NGSPICE_BYTES_PER_CELL * cells * extra
            t = NGSPICE_SECONDS_64 * (cells * extra / 4096) ** NGSPICE_TIME_EXPONENT * vectors
        else:
            need = NODAL_BYTES_PER_CELL * cells * extra
            t = NODAL_SECONDS_256 * (cells * extra / 65536) ** NODAL_TIME_EXPONENT * vectors
        peak = max(peak, dense + need)
        if point.device.kind != "linear" or point.cell != "passive":
            t *= NONLINEAR_TIME_FACTOR.get(engine, 4.0)
        seconds += t
    return int(peak), seconds


def estimate_cost(desc: SweepDescription, points: list[SweepPoint] | None = None) -> SweepCost:
    """Estimate the peak memory (largest point) and total time of ``desc`` (or of the given ``points``)."""
    points = desc.points() if points is None else points
    if not points:
        return SweepCost(0, 0.0, "-")
    costs = [point_cost(p) for p in points]
    k = max(range(len(points)), key=lambda i: costs[i][0])
    big = points[k]
    label = f"{big.rows}x{big.cols}{' differential' if big.differential else ''} ({', '.join(big.engines)})"
    return SweepCost(costs[k][0], sum(c[1] for c in costs), label)


def default_max_memory() -> int:
    """Half the machine's physical memory (bytes), or :data:`DEFAULT_MAX_MEMORY` when it is unknown."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return DEFAULT_MAX_MEMORY


def check_budget(cost: SweepCost, max_memory: int | None = None, jobs: int = 1,
                 max_hours: float | None = None) -> None:
    """Refuse (ConfigError) a sweep whose estimated peak memory with ``jobs`` workers exceeds ``max_memory``
    bytes (default :func:`default_max_memory`) or whose estimated time exceeds ``max_hours`` (None: no limit)."""
    limit = default_max_memory() if max_memory is None else max_memory
    need = cost.peak_bytes * max(jobs, 1)
    if need > limit:
        raise ConfigError(f"sweep too large: {cost.describe(jobs)}, above the limit of {limit / 2**30:.3g} GiB; "
                          f"shrink the largest arrays or n_vectors, use fewer jobs, or raise --max-memory (GiB)")
    if max_hours is not None and cost.total_seconds > max_hours * 3600:
        raise ConfigError(f"sweep too long: {cost.describe(jobs)}, above the limit of {max_hours:g} h; "
                          f"shrink the sweep or raise --max-hours")
