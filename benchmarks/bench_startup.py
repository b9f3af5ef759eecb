"""CLI start-up benchmark: wall time of ``python -m devicelab --help`` and ``devicelab COMMAND --help``.

Run: ``python benchmarks/bench_startup.py [--runs N]`` (about 30 s with the default 9 runs). Every command is
started as a fresh subprocess; the runs are interleaved (one run of every command per round) so that machine
load affects all of them alike, and the median over the rounds is printed next to ``python -c pass`` (the
interpreter's own start-up) measured in the same rounds, with the ratio to it. The package measured is the
one in the current directory (``python -m`` puts it first on ``sys.path``): run it from the checkout to measure.
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import time

# Spelled out (not devicelab.cli.COMMANDS) so that the same script also measures older checkouts.
# A command an older checkout does not have is left out of the table (with a note).
COMMAND_NAMES = ("fit", "model", "crossbar", "sweep", "adc", "behavioral", "network", "evaluate", "pretrain", "train")


def _wall(argv: list[str], check: bool = True) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited with code {done.returncode}")
    return time.perf_counter() - start if done.returncode == 0 else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="rounds (each runs every command once)")
    args = parser.parse_args()
    py = sys.executable
    cases = {"python -c pass": [py, "-c", "pass"],
             "python -c 'import click'": [py, "-c", "import click"],
             "python -m devicelab --help": [py, "-m", "devicelab", "--help"]}
    cases |= {f"python -m devicelab {name} --help": [py, "-m", "devicelab", name, "--help"] for name in COMMAND_NAMES}
    for label, argv in list(cases.items()):  # warm the file cache and .pyc files
        if math.isnan(_wall(argv, check=False)):
            print(f"note: `{label}` fails in this checkout; left out")
            del cases[label]
    times: dict[str, list[float]] = {label: [] for label in cases}
    for _ in range(args.runs):
        for label, argv in cases.items():
            times[label].append(_wall(argv))
    base = statistics.median(times["python -c pass"])
    print(f"median of {args.runs} interleaved runs; Python {sys.version.split()[0]}")
    print("| command | median wall time (s) | min (s) | ratio to `python -c pass` |")
    print("|---|---|---|---|")
    for label, values in times.items():
        median = statistics.median(values)
        print(f"| `{label}` | {median:.3f} | {min(values):.3f} | {median / base:.1f} |")


if __name__ == "__main__":
    main()
