"""Generate the SYNTHETIC example measurement files in this folder from a stated truth model.

    python measurements/generate.py            # rewrites the files next to this script
    python measurements/generate.py --out DIR  # writes them to DIR instead

The files are not measurements of real devices: they are sampled from :data:`TRUTH` (a PCMModel whose
constants differ on purpose from the joshi2020 preset) with devicelab.devices.synthetic and a fixed seed,
so fits can be checked against known values. Each file draws from its own child of one SeedSequence,
so the files are reproducible and independent. See README.md for the columns and units.
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

import numpy as np

from devicelab.devices import LogLinearClip, PCMModel, PowerLawClip
from devicelab.devices import synthetic
from devicelab.files import atomic_output
from devicelab.measurements import MeasurementTable, time_series, write_iv, write_measurements

MICRO = 1e-6
SEED = 20261123

#: The truth model of every example file (SI units; see README.md for the equations and constants).
TRUTH = PCMModel(
    g_max=30e-6,
    prog_coeffs=(0.35e-6, 1.2e-6, -0.6e-6),
    nu_mean=LogLinearClip(a0=0.03, a1=-0.012, lo=0.02, hi=0.12),
    nu_std=LogLinearClip(a0=0.004, a1=-0.006, lo=0.005, hi=0.04),
    read_noise=PowerLawClip(c=0.012, exponent=0.55, q_max=0.15),
    t0=10.0,
    t_read=1e-6,
    activation_energy=0.3,
    t_ref_temperature=300.0,
    v0=0.35,
    name="measurements/generate.py truth",
)

DRIFT_LEVELS = np.array([2, 5, 8, 12, 16, 20, 24, 28]) * MICRO
DRIFT_TIMES = np.array([1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5], dtype=float)
PROGRAM_LEVELS = np.linspace(1.5, 30, 20) * MICRO
BAKE_LEVELS = np.array([4, 10, 18, 26]) * MICRO
BAKE_TIMES = np.array([10, 30, 100, 300, 1e3, 3e3, 1e4], dtype=float)
BAKE_TEMPERATURES = np.array([300.0, 330.0, 360.0])
NOISE_LEVELS = np.array([2, 5, 10, 15, 22, 30]) * MICRO
NOISE_FS = 100.0  # Hz
NOISE_SAMPLES = 16_384
IV_LEVELS = np.array([3, 10, 20, 28]) * MICRO
IV_VOLTAGES = np.round(np.linspace(-0.3, 0.3, 21), 3)
FOREIGN_LEVELS = np.array([4, 12, 24]) * MICRO
FOREIGN_TIMES_MIN = np.array([0.5, 2, 10, 60, 240, 1440])  # minutes after programming
FOREIGN_CHAMBER_DEGC = 27.0


def _write_wide(table: MeasurementTable, path: Path) -> None:
    """Read-noise series, one device per line: g_target (S), device, then the samples (S)."""
    series = time_series(table)
    lines = [f"{g_target:.9g}\t{device}\t" + "\t".join(f"{x:.8g}" for x in row.tolist())
             for g_target, device, row in zip(series.g_target.tolist(), series.device.tolist(), series.g)]
    with atomic_output(path) as tmp:
        tmp.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), compresslevel=9, mtime=0))


def _write_foreign(table: MeasurementTable, path: Path) -> None:
    """A tester's own format: ';'-separated, uS and minutes, other names, degC, an extra text column."""
    labels = [f"W07-{code:03d}" for code in table.device.tolist()]
    rows = [f"{lab};{gt * 1e6:.4g};{t / 60:.6g};{g * 1e6:.7g};{FOREIGN_CHAMBER_DEGC:g};{'ok' if g > 0 else 'low'}"
            for lab, gt, t, g in zip(labels, table.g_target.tolist(), table.t.tolist(), table.g.tolist())]
    text = "cell_id;level_uS;elapsed_min;G_uS;chamber_C;remark\n" + "\n".join(rows) + "\n"
    with atomic_output(path) as tmp:
        tmp.write_text(text)


def generate(out: Path) -> dict[str, Path]:
    """Write every example file into ``out``; return them by name."""
    out = Path(out)
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(SEED).spawn(6)]
    files = {
        "drift_run.csv": lambda p: write_measurements(
            synthetic.drift_table(TRUTH, DRIFT_LEVELS, 40, DRIFT_TIMES, rngs[0]), p, digits=9),
        "program_run.csv": lambda p: write_measurements(
            synthetic.program_table(TRUTH, PROGRAM_LEVELS, 100, rngs[1]), p, digits=9),
        "bake_run.csv": lambda p: write_measurements(
            synthetic.bake_table(TRUTH, BAKE_LEVELS, 20, BAKE_TIMES, BAKE_TEMPERATURES, rngs[2]), p, digits=9),
        "read_noise.tsv.gz": lambda p: _write_wide(
            synthetic.read_noise_series(TRUTH, NOISE_LEVELS, NOISE_SAMPLES, NOISE_FS, rngs[3]), p),
        "iv_run.csv": lambda p: write_iv(synthetic.iv_sweeps(TRUTH, IV_LEVELS, 5, IV_VOLTAGES, rngs[4],
                                                             rel_noise=0.005), p, digits=9),
        "foreign_tester_run.csv": lambda p: _write_foreign(
            synthetic.drift_table(TRUTH, FOREIGN_LEVELS, 10, FOREIGN_TIMES_MIN * 60,
                                  rngs[5], temperature=FOREIGN_CHAMBER_DEGC + 273.15), p),
    }
    paths = {}
    for name, write in files.items():
        paths[name] = out / name
        write(paths[name])
    paths["truth_model.json"] = out / "truth_model.json"
    with atomic_output(paths["truth_model.json"]) as tmp:
        tmp.write_text(json.dumps(TRUTH.to_dict(), indent=2, sort_keys=True) + "\n")
    return paths


def main(argv=None) -> int:
    """Command-line entry: write the example files (default: next to this script)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                        help="folder to write the files into (default: the measurements/ folder)")
    args = parser.parse_args(argv)
    for name, path in generate(args.out).items():
        print(f"{path}  ({path.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
