"""Time reading 10^6 measurement reads: devicelab readers vs a plain np.loadtxt parse vs a per-row csv loop.

    python benchmarks/bench_load.py [--reads N] [--repeats R]

The table is synthetic (devicelab.devices.synthetic.drift_table, joshi2020 preset) and written once as
CSV, CSV.gz and HDF5 into a temporary folder. Every timing is the best of ``--repeats`` runs; other jobs on
a shared machine make absolute times noisy, so compare the ratios printed side by side.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

import numpy as np

from devicelab.devices import preset
from devicelab.devices.synthetic import drift_table
from devicelab.measurements import read_measurements, write_measurements


def best_of(repeats: int, func) -> float:
    """Smallest wall time (s) of ``repeats`` calls of ``func``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def csv_loop(path: Path) -> np.ndarray:
    """Reference: the csv module and float() per row, no validation (what a naive reader does)."""
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        return np.array([[float(x) for x in row] for row in reader])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=1_000_000, help="number of reads (rows)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per timing; the best is kept")
    args = parser.parse_args(argv)
    n_times = 50
    devices = max(args.reads // n_times // 10, 1)
    table = drift_table(preset("joshi2020"), np.linspace(1e-6, 25e-6, 10), devices,
                        np.logspace(0, 5, n_times), np.random.default_rng(1))
    with tempfile.TemporaryDirectory() as tmp:
        paths = {ext: Path(tmp) / f"run.{ext}" for ext in ("csv", "csv.gz", "h5")}
        write = {ext: best_of(1, lambda p=p: write_measurements(table, p)) for ext, p in paths.items()}
        print(f"{len(table):,} reads ({table.n_devices:,} devices); best of {args.repeats}; "
              f"file sizes: " + ", ".join(f"{e} {p.stat().st_size / 1e6:.1f} MB" for e, p in paths.items()))
        read = {ext: best_of(args.repeats, lambda p=p: read_measurements(p)) for ext, p in paths.items()}
        raw = best_of(args.repeats, lambda: np.loadtxt(paths["csv"], delimiter=",", skiprows=1))
        loop = best_of(1, lambda: csv_loop(paths["csv"]))
    print(f"{'what':44s} {'time (s)':>9s} {'vs loadtxt':>11s}")
    rows = [(f"read_measurements {ext} (parse + validate)", t) for ext, t in read.items()]
    rows += [("np.loadtxt csv, all columns, no checks", raw), ("csv module + float() per row (1 run)", loop)]
    rows += [(f"write_measurements {ext} (1 run)", t) for ext, t in write.items()]
    for what, seconds in rows:
        print(f"{what:44s} {seconds:9.2f} {seconds / raw:10.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
