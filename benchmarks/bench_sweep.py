"""Sweep runner: wall time of one nodal-only sweep with the serial, local-process and Dask executors, and
the runner's own overhead (drawing G and V, ideal model, checkpoints, HDF5 assembly) next to solver time.

Run: python benchmarks/bench_sweep.py   (prints one line per executor; best of REPEATS runs each)
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from devicelab.spice.sweep.config import parse_description
from devicelab.spice.sweep.executor import DaskExecutor, LocalExecutor, SerialExecutor
from devicelab.spice.sweep.results import read_sweep
from devicelab.spice.sweep.run import run_sweep

REPEATS = 2
DESCRIPTION = {
    "name": "bench", "n_vectors": 20, "engines": "nodal",
    "array": {"sizes": [[64, 64], [128, 128]], "r_wire": [0.5, 1.0, 2.0, 5.0]},
    "conductances": [{"kind": "uniform", "g_min": 0.25e-6, "g_max": 25e-6}],
    "inputs": [{"kind": "dense"}, {"kind": "dnn"}],
}


def timed(make_executor) -> tuple[float, float]:
    """Best wall time (s) of REPEATS runs and the summed nodal solver time (s) of the best run."""
    best = (float("inf"), 0.0)
    desc = parse_description(DESCRIPTION)
    for _ in range(REPEATS):
        with tempfile.TemporaryDirectory() as tmp, make_executor() as executor:
            start = time.perf_counter()
            out = run_sweep(desc, Path(tmp) / "bench.h5", executor=executor, progress=False)
            wall = time.perf_counter() - start
            solver = sum(r.times["nodal"] for r in read_sweep(out).records)
        best = min(best, (wall, solver))
    return best


def main() -> None:
    n = len(parse_description(DESCRIPTION).points())
    results = {
        "serial": timed(SerialExecutor),
        "local --jobs 2": timed(lambda: LocalExecutor(jobs=2)),
        "dask local (2 workers)": timed(lambda: DaskExecutor("local", jobs=2)),
    }
    serial_wall, serial_solver = results["serial"]
    print(f"{n} points (64x64 and 128x128, nodal only, 20 vectors each); best of {REPEATS}")
    for name, (wall, solver) in results.items():
        print(f"{name:24s} wall {wall:7.2f} s  speed-up vs serial {serial_wall / wall:5.2f}x  "
              f"summed solver time {solver:6.2f} s")
    print(f"serial runner overhead (wall - solver) / wall: {(serial_wall - serial_solver) / serial_wall:.1%}")


if __name__ == "__main__":
    main()
