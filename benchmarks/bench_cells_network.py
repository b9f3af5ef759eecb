"""Network accuracy with 1T1R vs passive cells at the same wire resistance, side by side.

    python benchmarks/bench_cells_network.py                 # 2 ohm segments, 2000 test images, 3 repeats
    python benchmarks/bench_cells_network.py --r-wire 5 --test-limit 500

The HWA ResNet on Fashion-MNIST runs on joshi2020 PCM devices with global drift compensation, 8-bit DAC/ADC,
weights mapped up to 20 uS (so that programmed conductances stay inside the model's 25 uS range; the
count of reads that left it is printed) and 256 x 256 tiles whose IR drop comes from the behavioral crossbar
model (:meth:`CrossbarModel.from_params`,
validity = the held-out benchmark range of BENCHMARKS.md: arrays up to 512, wires up to 5 ohm, 1T1R
on-resistance 385 ohm - 4.2 kohm). Cells: passive, 1T1R with the default access transistor (1.8 V word
line, 385 ohm) and 1T1R with a weak one (0.9 V, W = 0.3 um: 4.2 kohm). Same seed for every cell, so each
sees the same programming draws.
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

from devicelab.behavioral import CrossbarModel, save_crossbar_model
from devicelab.errors import ValidityRangeWarning
from devicelab.inference import (
    AnalogConfig,
    AnalogHardware,
    parse_times,
    run_evaluation,
)
from devicelab.inference.mapping import UnitCell
from devicelab.spice.crossbar.spec import AccessTransistor

CELLS = {"passive": UnitCell(),
         "1t1r 1.8V/385ohm": UnitCell("1t1r"),
         "1t1r 0.9V/4.2kohm": UnitCell("1t1r", transistor=AccessTransistor(v_gate=0.9, w=0.3e-6))}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--r-wire", type=float, default=2.0, help="wire segment resistance (ohm)")
    parser.add_argument("--test-limit", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--times", default="1,86400,31536000")
    args = parser.parse_args(argv)
    times = parse_times(args.times)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        model_path = save_crossbar_model(CrossbarModel.from_params(args.r_wire, args.r_wire),
                                         Path(tmp) / "xbar.h5")
        for label, cell in CELLS.items():
            hardware = AnalogHardware.from_files(preset="joshi2020", crossbar_model=model_path,
                                                 tile=AnalogConfig(g_max=20e-6), cell=cell)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ValidityRangeWarning)
                result, _ = run_evaluation("resnet-hwa", "fashion-mnist", times, args.repeats, hardware,
                                           test_limit=args.test_limit, seed=16, output_dir=Path(tmp) / label)
            outside = sum(issubclass(w.category, ValidityRangeWarning) for w in caught)
            results[label] = result
            print(f"{label}: done ({result.elapsed_s:.0f} s); layer reads outside the crossbar model's validity "
                  f"range: {outside}", flush=True)
    first = next(iter(results.values()))
    print(f"\nHWA ResNet, Fashion-MNIST ({first.n_test} test images), joshi2020, global drift compensation, "
          f"256x256 tiles, {args.r_wire:g} ohm wire segments; accuracy % (mean +- std over {args.repeats} "
          f"programmings); float {100 * first.float_accuracy:.2f} %")
    print(f"{'cell':<20}" + "".join(f"{f't = {t:g} s':>18}" for t in times))
    for label, result in results.items():
        curve = result.curves["all"]
        print(f"{label:<20}" + "".join(f"{100 * m:>11.2f} +- {100 * s:4.2f}" for m, s in zip(curve.mean, curve.std)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
