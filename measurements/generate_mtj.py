"""Generate the SYNTHETIC example MTJ resistance file ``mtj_resistance.csv`` in this folder.

    python measurements/generate_mtj.py            # rewrites measurements/mtj_resistance.csv
    python measurements/generate_mtj.py --out DIR  # writes it to DIR instead

Not a measurement of real devices: 200 devices are written P and 200 AP, each read 3 times, sampled from
:data:`TRUTH` (lognormal device-to-device spread, 0.5 % rms multiplicative read noise) with a fixed seed.
Columns (mapping ``mappings/example_mtj.toml``): ``cell``; ``state`` (0 = P, 1 = AP); ``R_nominal_kohm``
(nominal resistance of the written state, used as g_target); ``t_us`` (read k at k us after writing);
``R_kohm`` (the read resistance).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from devicelab.devices.mtj import MTJModel
from devicelab.files import atomic_output

SEED = 20261129
#: Truth model of the example file (ohm): differs on purpose from the pim_default preset.
TRUTH = MTJModel(r_p=4.2e3, tmr0=1.3, sigma_p=0.04, sigma_ap=0.06, name="generate_mtj.py truth")
N_DEVICES = 200
N_READS = 3
READ_NOISE = 0.005


def generate(out: Path) -> Path:
    """Write the example file into folder ``out``; return its path."""
    rng = np.random.default_rng(SEED)
    lines = ["cell,state,R_nominal_kohm,t_us,R_kohm"]
    for state in (0, 1):
        r_p, r_ap = TRUTH.sample_devices(N_DEVICES, rng)
        r_dev = r_ap if state else r_p
        nominal = TRUTH.r_ap if state else TRUTH.r_p
        for k in range(N_DEVICES):
            for read in range(N_READS):
                r = r_dev[k] * (1 + READ_NOISE * rng.standard_normal())
                lines.append(f"c{state}_{k:03d},{state},{nominal / 1e3:.4f},{read},{r / 1e3:.5f}")
    path = out / "mtj_resistance.csv"
    with atomic_output(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="ascii")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    print(generate(parser.parse_args().out))


if __name__ == "__main__":
    main()
