"""Peak memory and time of one solve (16 vectors) per array size and engine: the measurements behind
spice/sweep/budget.py.

Each case runs in a fresh Python process so that ``ru_maxrss`` (peak resident memory; for ngspice, of its child
process, which includes the Python interpreter and libngspice, ~100 MiB) is its own. Run:

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
from devicelab.spice.crossbar.simulate import simulate_ngspice
n, device, engine = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rng = np.random.default_rng(0)
spec = CrossbarSpec(n, n, r_row=1.0, r_col=1.0, device=device, v0=0.25 if device == "sinh" else None)
g = rng.uniform(1e-6, 25e-6, (n, n))
v = rng.uniform(0.0, 0.2, (16, n))
who = resource.RUSAGE_SELF if engine == "nodal" else resource.RUSAGE_CHILDREN  # ngspice runs in a child
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss if engine == "nodal" else 0
start = time.perf_counter()
(solve_nodal if engine == "nodal" else simulate_ngspice)(spec, g, v)
elapsed = time.perf_counter() - start
peak = (resource.getrusage(who).ru_maxrss - base) * 1024
print(f"{engine:7s} {n} x {n}  {device:6s}  {peak / 2**20:6.0f} MiB ({peak / (n * n) / 1e3:.1f} kB per cell)  "
      f"{elapsed:6.2f} s")
"""


def main() -> None:
    """Print one line per (engine, size, device)."""
    cases = [(64, "linear", "nodal"), (128, "linear", "nodal"), (256, "linear", "nodal"), (256, "sinh", "nodal"),
             (32, "linear", "ngspice"), (64, "linear", "ngspice"), (64, "sinh", "ngspice")]
    for n, device, engine in cases:
        out = subprocess.run([sys.executable, "-c", CHILD, str(n), device, engine], capture_output=True, text=True,
                             check=True)
        print(out.stdout.strip())


if __name__ == "__main__":
    main()
