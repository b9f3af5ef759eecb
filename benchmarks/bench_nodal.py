"""Exact crossbar solvers side by side: sparse LU (``method="direct"``) vs ladder-preconditioned CG.

For each N: an N x N passive crossbar with linear cells, r_row = r_col = 2 ohm (``--r-wire``), ideal driver
and sense (r_driver = r_sense = 0), G uniform in [0.25, 25] uS, ``--vectors`` input vectors uniform in
[0, 0.2] V (seeded). Both methods of :func:`devicelab.spice.solve_nodal` solve the same batch in the same run
(direct first, then iterative with one thread, then iterative with its default threads (one block of
vectors per CPU); best of ``--repeats`` each; matrix/ladder construction included). Printed: the wall
times, the ratios direct / iterative, the CG iterations and the largest disagreement
max|I_direct - I_iterative| / max|I_direct|. The direct solver (SuperLU) is single-threaded.

    python benchmarks/bench_nodal.py                          # N = 256 512 1024, 64 vectors
    python benchmarks/bench_nodal.py --sizes 128 256 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from devicelab.spice import CrossbarSpec, solve_nodal
from devicelab.spice.crossbar import ladder_cg


def count_iterations():
    """Wrap the CG's column sweep to count iterations (one per Schur product); returns the counter list."""
    counter = [0]
    original = ladder_cg._SchurSystem.coupling

    def counted(self, x, out):
        counter[0] += 1
        return original(self, x, out)

    ladder_cg._SchurSystem.coupling = counted
    return counter


def best_time(function, repeats: int):
    """(best wall time in s, last result) of ``repeats`` calls."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024], help="array sizes N")
    parser.add_argument("--vectors", type=int, default=64, help="input vectors per size")
    parser.add_argument("--r-wire", type=float, default=2.0, help="wire segment resistance (ohm)")
    parser.add_argument("--repeats", type=int, default=1, help="runs per method (best taken)")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)
    counter = count_iterations()
    print(f"# exact solvers: r_row = r_col = {args.r_wire:g} ohm, ideal driver/sense, G ~ U[0.25, 25] uS, "
          f"{args.vectors} vectors ~ U[0, 0.2] V; {platform.processor() or platform.machine()}, "
          f"load average {os.getloadavg()[0]:.1f} at start (shared CPU: compare the ratios)")
    print("| N | direct (SuperLU) s | iterative 1 thread s | iterative threads s | direct/iterative 1 thread | "
          "direct/iterative threads | CG iterations | max rel. disagreement |")
    print("|---|---|---|---|---|---|---|---|")
    for n in args.sizes:
        rng = np.random.default_rng(args.seed + n)
        spec = CrossbarSpec(n, n, r_row=args.r_wire, r_col=args.r_wire)
        g = rng.uniform(0.25e-6, 25e-6, (n, n))
        v = rng.uniform(0.0, 0.2, (args.vectors, n))
        t_direct, i_direct = best_time(lambda spec=spec, g=g, v=v: solve_nodal(spec, g, v, method="direct"),
                                       args.repeats)
        counter[0] = 0
        t_one, i_one = best_time(lambda spec=spec, g=g, v=v: solve_nodal(spec, g, v, method="iterative", workers=1),
                                 args.repeats)
        iterations = counter[0] // args.repeats - 1  # the first Schur product is the initial residual
        t_threads, i_threads = best_time(lambda spec=spec, g=g, v=v: solve_nodal(spec, g, v, method="iterative"),
                                         args.repeats)
        err = max(np.max(np.abs(i_direct - i)) for i in (i_one, i_threads)) / np.max(np.abs(i_direct))
        print(f"| {n} | {t_direct:.3g} | {t_one:.3g} | {t_threads:.3g} | {t_direct / t_one:.1f}x | "
              f"{t_direct / t_threads:.1f}x | {iterations} | {err:.1e} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
