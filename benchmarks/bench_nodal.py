"""Exact crossbar solvers side by side: sparse LU (``method="direct"``) vs ladder-preconditioned CG.

For each N: an N x N passive crossbar with linear cells, r_row = r_col = 2 ohm (``--r-wire``), ideal driver
and sense (r_driver = r_sense = 0), G uniform in [0.25, 25] uS, ``--vectors`` input vectors uniform in
[0, 0.2] V (seeded). In the same run: ``method="direct"`` (SuperLU, single-threaded), then
``method="iterative"`` with one thread and with its default threads (compiled numba kernels when numba is
importable, else the numpy sweeps; the backend is printed), and with ``--numpy`` also the numpy sweeps
with one thread. Best of ``--repeats`` each; matrix/ladder construction included. Before timing, one tiny
iterative solve warms up the compiled kernels (its time, numba's compilation or loading of its on-disk
cache, is printed and not counted). Printed: the wall times (s), the ratios direct / iterative, the CG
iterations and the largest disagreement max|I_direct - I_iterative| / max|I_direct|.

    python benchmarks/bench_nodal.py                          # N = 256 512 1024, 64 vectors
    python benchmarks/bench_nodal.py --sizes 128 256 --repeats 3 --numpy
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import time

import numpy as np

from devicelab.spice import CrossbarSpec, solve_nodal
from devicelab.spice.crossbar import ladder_cg
from devicelab.spice.crossbar.nodal import MAX_WORKERS


class IterationCounter(logging.Handler):
    """Keeps the CG iteration count of the last iterative solve (the solver logs it at DEBUG level)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.iterations = -1

    def emit(self, record):
        self.iterations = getattr(record, "cg_iterations", self.iterations)


def best_time(function, repeats: int):
    """(best wall time in s, last result) of ``repeats`` calls."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def warm_up() -> float:
    """Wall time (s) of one tiny iterative solve: numba's import, compilation or cache load, the self-check."""
    start = time.perf_counter()
    spec = CrossbarSpec(4, 4, r_row=1.0, r_col=1.0)
    solve_nodal(spec, np.full((4, 4), 1e-5), np.full((1, 4), 0.1), method="iterative")
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024], help="array sizes N")
    parser.add_argument("--vectors", type=int, default=64, help="input vectors per size")
    parser.add_argument("--r-wire", type=float, default=2.0, help="wire segment resistance (ohm)")
    parser.add_argument("--repeats", type=int, default=1, help="runs per method (best taken)")
    parser.add_argument("--numpy", action="store_true", help="also time the numpy sweeps (one thread)")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)
    counter = IterationCounter()
    logger = logging.getLogger(ladder_cg.__name__)
    logger.addHandler(counter)
    logger.setLevel(logging.DEBUG)
    warm = warm_up()  # first: loading the kernels (import, compile or cache, self-check) is part of it
    backend = "compiled (numba)" if ladder_cg.compiled_available() else "numpy (numba not importable)"
    threads = min(os.cpu_count() or 1, MAX_WORKERS)
    print(f"# exact solvers: r_row = r_col = {args.r_wire:g} ohm, ideal driver/sense, G ~ U[0.25, 25] uS, "
          f"{args.vectors} vectors ~ U[0, 0.2] V; {platform.processor() or platform.machine()}, "
          f"load average {os.getloadavg()[0]:.1f} at start (shared CPU: compare the ratios)")
    print(f"# iterative backend: {backend}; default threads: {threads}; "
          f"warm-up solve (4 x 4, not timed below): {warm:.2f} s")
    numpy_cols = (" iterative numpy 1 thread s |", " direct/numpy |") if args.numpy else ("", "")
    print(f"| N | direct (SuperLU) s | iterative 1 thread s | iterative {threads} threads s |{numpy_cols[0]} "
          f"direct/iterative 1 thread | direct/iterative {threads} threads |{numpy_cols[1]} CG iterations | "
          "max rel. disagreement |")
    print("|---" * (8 + 2 * args.numpy) + "|")
    for n in args.sizes:
        rng = np.random.default_rng(args.seed + n)
        spec = CrossbarSpec(n, n, r_row=args.r_wire, r_col=args.r_wire)
        g = rng.uniform(0.25e-6, 25e-6, (n, n))
        v = rng.uniform(0.0, 0.2, (args.vectors, n))

        def iterative(workers, spec=spec, g=g, v=v):
            return solve_nodal(spec, g, v, method="iterative", workers=workers)

        t_direct, i_direct = best_time(lambda spec=spec, g=g, v=v: solve_nodal(spec, g, v, method="direct"),
                                       args.repeats)
        t_one, i_one = best_time(lambda: iterative(1), args.repeats)
        iterations = counter.iterations
        t_threads, i_threads = best_time(lambda: iterative(None), args.repeats)
        results = [i_one, i_threads]
        numpy_text = ["", ""]
        if args.numpy:
            def numpy_sweeps(spec=spec, g=g, v=v):
                return ladder_cg.solve_linear_passive(g, v, spec.r_row, spec.r_col, spec.r_driver, spec.r_sense,
                                                      rtol=1e-10, max_iter=500, node_voltages=False,
                                                      backend="numpy")[0]
            t_numpy, i_numpy = best_time(numpy_sweeps, args.repeats)
            results.append(i_numpy)
            numpy_text = [f" {t_numpy:.3g} |", f" {t_direct / t_numpy:.1f}x |"]
        err = max(np.max(np.abs(i_direct - i)) for i in results) / np.max(np.abs(i_direct))
        print(f"| {n} | {t_direct:.3g} | {t_one:.3g} | {t_threads:.3g} |{numpy_text[0]} {t_direct / t_one:.1f}x | "
              f"{t_direct / t_threads:.1f}x |{numpy_text[1]} {iterations} | {err:.1e} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
