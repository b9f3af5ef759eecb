"""Peak memory and time of one nodal solve per array size: the measurements behind spice/sweep/budget.py.

Each size runs in a fresh Python process so that ``ru_maxrss`` (peak resident memory) is its own. Run:

    PYTHONPATH=. python benchmarks/sweep_budget.py
"""

from __future__ import annotations

import subprocess
import sys

CHILD = """
import resource, sys, time
import numpy as np
from devicelab.spice.crossbar.spec import CrossbarSpec
from devicelab.spice.crossbar.nodal import solve_nodal
n, device = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(0)
spec = CrossbarSpec(n, n, r_row=1.0, r_col=1.0, device=device, v0=0.25 if device == "sinh" else None)
g = rng.uniform(1e-6, 25e-6, (n, n))
v = rng.uniform(0.0, 0.2, (16, n))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
solve_nodal(spec, g, v)
elapsed = time.perf_counter() - start
peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) * 1024
print(f"{n} x {n}  {device:6s}  {peak / 2**20:6.0f} MiB ({peak / (n * n) / 1e3:.1f} kB per cell)  {elapsed:6.2f} s")
"""


def main() -> None:
    """Print one line per (size, device)."""
    for n, device in ((64, "linear"), (128, "linear"), (256, "linear"), (256, "sinh")):
        out = subprocess.run([sys.executable, "-c", CHILD, str(n), device], capture_output=True, text=True, check=True)
        print(out.stdout.strip())


if __name__ == "__main__":
    main()
