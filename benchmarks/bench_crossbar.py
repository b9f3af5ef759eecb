"""Crossbar benchmark: ngspice (naive and amortized) vs the sparse nodal solver, side by side.

For each N: an N x N passive crossbar with linear cells, r_row = r_col = 2 ohm, r_driver = r_sense = 0,
G uniform in [0.25, 25] uS, 20 input vectors uniform in [0, 0.2] V (seeded). Reports per input vector:
- ngspice naive: one netlist/analysis per vector (timed for --naive-vectors vectors, default all at
  N <= 32, 2 at 64 and 1 at 128; the per-vector mean is the figure, i.e. extrapolated to 20 vectors),
- ngspice amortized: all 20 vectors as points of one DC sweep (matrix reordered once),
- nodal: devicelab.spice.solve_nodal on the batch (best of --repeats),
and the max relative disagreement max|I_ngspice - I_nodal| / max|I_ngspice|.
ngspice times are the time spent inside ngspice (circuit load + analysis, measured in the isolated child);
the wall time of the amortized call (process start ~0.5 s and netlist text included) is printed as well.
Nodal times include building the sparse matrices.

    python benchmarks/bench_crossbar.py                 # N = 16 32 64 128 (about 20-30 min on 2 cores)
    python benchmarks/bench_crossbar.py --sizes 16 32   # quick
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from devicelab.spice import CrossbarSpec, simulate_ngspice, solve_nodal


def default_naive(n: int, n_vectors: int) -> int:
    """Vectors timed one analysis each: all for small arrays, a few for the big ones (then extrapolated)."""
    if n <= 32:
        return n_vectors
    return 2 if n <= 64 else 1


def bench_size(n: int, n_vectors: int, naive: int, repeats: int, timeout: float, seed: int) -> dict:
    rng = np.random.default_rng(seed + n)
    spec = CrossbarSpec(n, n, r_row=2.0, r_col=2.0)
    g = rng.uniform(0.25e-6, 25e-6, (n, n))
    v = rng.uniform(0.0, 0.2, (n_vectors, n))
    nodal_times = []
    for _ in range(repeats):
        start = time.perf_counter()
        i_nodal = solve_nodal(spec, g, v)
        nodal_times.append(time.perf_counter() - start)
    start = time.perf_counter()
    i_amortized, result = simulate_ngspice(spec, g, v, timeout=timeout, return_result=True)
    wall_amortized = time.perf_counter() - start
    naive_times, naive_rows = [], []
    for k in range(naive):
        i_single, single = simulate_ngspice(spec, g, v[k:k + 1], timeout=timeout, return_result=True)
        naive_rows.append(i_single[0])
        naive_times.append(single.ngspice_time)
    scale = np.max(np.abs(i_amortized))
    err_amortized = np.max(np.abs(i_amortized - i_nodal)) / scale
    err_naive = np.max(np.abs(np.array(naive_rows) - i_nodal[:naive])) / scale
    return {
        "n": n,
        "naive_timed": naive,
        "t_naive": float(np.mean(naive_times)),
        "t_amortized": result.ngspice_time / n_vectors,
        "wall_amortized": wall_amortized / n_vectors,
        "t_nodal": min(nodal_times) / n_vectors,
        "err": float(max(err_amortized, err_naive)),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 32, 64, 128], help="array sizes N")
    parser.add_argument("--vectors", type=int, default=20, help="input vectors per size")
    parser.add_argument("--naive-vectors", type=int, default=None,
                        help="vectors timed one analysis each (default: all at N<=32, 2 at 64, 1 above)")
    parser.add_argument("--repeats", type=int, default=3, help="nodal repeats (best taken)")
    parser.add_argument("--timeout", type=float, default=7200.0, help="ngspice time limit per run (s)")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)
    print(f"# crossbar benchmark: r_row = r_col = 2 ohm, G ~ U[0.25, 25] uS, {args.vectors} vectors ~ U[0, 0.2] V; "
          f"{platform.processor() or platform.machine()}, shared CPU (timings noisy; ratios measured side by side)")
    header = ("| N | ngspice naive s/vector (timed) | ngspice amortized s/vector (wall) | nodal s/vector | "
              "amortized/nodal | naive/nodal | naive/amortized | max rel. disagreement |")
    print(header)
    print("|" + "---|" * 8)
    for n in args.sizes:
        naive = args.naive_vectors if args.naive_vectors is not None else default_naive(n, args.vectors)
        naive = max(1, min(naive, args.vectors))
        r = bench_size(n, args.vectors, naive, args.repeats, args.timeout, args.seed)
        print(f"| {n} | {r['t_naive']:.3g} ({r['naive_timed']}/{args.vectors}) | "
              f"{r['t_amortized']:.3g} ({r['wall_amortized']:.3g}) | "
              f"{r['t_nodal']:.3g} | {r['t_amortized'] / r['t_nodal']:.0f}x | {r['t_naive'] / r['t_nodal']:.0f}x | "
              f"{r['t_naive'] / r['t_amortized']:.1f}x | {r['err']:.1e} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
