"""Network accuracy with 1T1R vs passive cells at the same wire resistance, side by side.

    python benchmarks/bench_cells_network.py                 # 2 ohm segments, 2000 test images, 3 repeats
    python benchmarks/bench_cells_network.py --r-wire 5 --test-limit 500
    python benchmarks/bench_cells_network.py --tails 5000 --tail-g-max 20,19,18   # validity margin only
    python benchmarks/bench_cells_network.py --cells passive --off dac,adc          # one cell, converters ideal

The HWA ResNet on Fashion-MNIST runs on joshi2020 PCM devices with global drift compensation, 8-bit DAC/ADC,
and 256 x 256 tiles whose IR drop comes from the behavioral crossbar model (:meth:`CrossbarModel.from_params`,
validity = the held-out benchmark range of BENCHMARKS.md: arrays up to 512, wires up to 5 ohm, conductances
up to 25 uS, 1T1R on-resistance 385 ohm - 4.2 kohm). Cells: passive, 1T1R with the default access transistor
(1.8 V word line, 385 ohm) and 1T1R with a weak one (0.9 V, W = 0.3 um: 4.2 kohm). Same seed for every cell,
so each sees the same programming draws.

Weights are mapped up to 18 uS (``--g-max``), not to the device's 25 uS: the devices read by the model must
stay inside its 25 uS range, and with column scaling every column has a device programmed to g_max, whose
programming noise (1.07-1.09 uS at 18-20 uS) plus the read noise of the t = 1 s read (3.8-4.1 % at 1 s, before drift
sets in at t0 = 20 s) reach past 25 uS. ``--tails K`` measures that margin: it draws K programmings of the
mapped targets with the engine's device-model calls (``program``, ``drift_exponents``, ``read`` at t = 0
(the compensation reference) and the read times) and prints the fraction of programmings with a device read
above the model's range. The run itself counts the layer reads that left the range (it should print 0).
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import warnings
from pathlib import Path

import numpy as np

from devicelab.behavioral import CrossbarModel, save_crossbar_model
from devicelab.behavioral.crossbar_model import BENCHMARK_VALIDITY
from devicelab.devices import preset
from devicelab.errors import ValidityRangeWarning
from devicelab.inference import (
    AnalogConfig,
    AnalogHardware,
    AnalogNetwork,
    NoCompensation,
    parse_times,
    run_evaluation,
)
from devicelab.inference.mapping import UnitCell
from devicelab.network.data import load_dataset
from devicelab.network.model import resolve_network
from devicelab.spice.crossbar.spec import AccessTransistor

CELLS = {"passive": UnitCell(),
         "1t1r 1.8V/385ohm": UnitCell("1t1r"),
         "1t1r 0.9V/4.2kohm": UnitCell("1t1r", transistor=AccessTransistor(v_gate=0.9, w=0.3e-6))}


def tail_margin(g_max: float, times, programmings: int, seed: int = 16) -> dict:
    """How often the device reads of a run leave the crossbar model's conductance range (S) when the HWA
    ResNet's weights are mapped up to ``g_max`` (S) on joshi2020 devices.

    Draws ``programmings`` independent programmings of the mapped targets (every target above half the
    range's top is kept: the others are more than 10 programming-noise sigmas below it) with the device-model
    calls of the engine, then reads them at t = 0 (the compensation reference) and at ``times`` (s). Returns
    the fraction of programmings with at least one device read above the range, the mean number of such reads
    per programming at each time, and the median and largest conductance read (S).
    """
    model, g_limit = preset("joshi2020"), BENCHMARK_VALIDITY.g[1]
    rng = np.random.default_rng(seed)
    net = resolve_network("resnet-hwa", "fashion-mnist")
    calibration = load_dataset("fashion-mnist", "train").subset(64, rng).x
    analog = AnalogNetwork(net, AnalogHardware(model, AnalogConfig(g_max=g_max), compensation=NoCompensation()),
                           calibration, rng)
    targets = np.concatenate([np.concatenate([pl.g_plus_target.ravel(), pl.g_minus_target.ravel()])
                              for pl in analog.layers.values()])
    high = targets[targets > 0.5 * g_limit]
    read_times = [0.0, *times]
    above = np.zeros(len(read_times))
    breached, largest = 0, np.empty(programmings)
    for k in range(programmings):
        g_prog, nu = model.program(high, rng), model.drift_exponents(high, rng)
        reads = [model.read(g_prog, nu, t, rng) for t in read_times]
        counts = [int(np.sum(g > g_limit * (1 + 1e-6))) for g in reads]
        above += counts
        breached += any(counts)
        largest[k] = max(float(g.max()) for g in reads)
    return {"targets": targets.size, "high": high.size, "breach_fraction": breached / programmings,
            "reads_above": dict(zip(read_times, above / programmings)), "median_max": float(np.median(largest)),
            "max": float(largest.max())}


def print_tails(g_maxes, times, programmings: int) -> None:
    """Print :func:`tail_margin` for each mapping top conductance in ``g_maxes`` (S)."""
    print(f"HWA ResNet on joshi2020, column scaling; device reads above the crossbar model's "
          f"{BENCHMARK_VALIDITY.g[1] * 1e6:g} uS range over {programmings} programmings (each read at t = 0 and "
          f"t = {', '.join(f'{t:g}' for t in times)} s)")
    print(f"{'g_max (uS)':>10} {'targets > 12.5 uS':>18} {'programmings with a read above':>31} "
          f"{'largest read per programming, median / max (uS)':>48}   reads above per programming at t = 0, "
          f"{', '.join(f'{t:g}' for t in times)} s")
    for g_max in g_maxes:
        m = tail_margin(g_max, times, programmings)
        n = round(m["breach_fraction"] * programmings)
        breaches = f"{n} / {programmings} = {100 * m['breach_fraction']:.2f} %"
        reads = f"{m['median_max'] * 1e6:.2f} / {m['max'] * 1e6:.2f}"
        per_time = " ".join(f"{v:.4f}" for v in m["reads_above"].values())
        print(f"{g_max * 1e6:>10g} {m['high']:>18} {breaches:>31} {reads:>48}   {per_time}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--r-wire", type=float, default=2.0, help="wire segment resistance (ohm)")
    parser.add_argument("--test-limit", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--times", default="1,86400,31536000")
    parser.add_argument("--g-max", type=float, default=18.0,
                        help="conductance the largest |weight| of a column maps to (uS)")
    parser.add_argument("--cells", default=",".join(CELLS),
                        help=f"comma-separated subset of the cells {', '.join(CELLS)}")
    parser.add_argument("--off", default="", help="comma-separated non-idealities to switch off (AnalogConfig "
                        "switches: programming_noise, drift, read_noise, dac, ir_drop, adc)")
    parser.add_argument("--tails", type=int, default=0, metavar="K",
                        help="only measure the validity margin over K programmings (see the module docstring)")
    parser.add_argument("--tail-g-max", default="20,19,18", help="mapping tops for --tails (uS, comma-separated)")
    args = parser.parse_args(argv)
    times = parse_times(args.times)
    if args.tails:
        print_tails([float(x) * 1e-6 for x in args.tail_g_max.split(",")], times, args.tails)
        return 0
    if any(label not in CELLS for label in args.cells.split(",")):
        parser.error(f"--cells: expected names among {', '.join(CELLS)}, got {args.cells!r}")
    cells = {label: CELLS[label] for label in args.cells.split(",")}
    tile = AnalogConfig(g_max=args.g_max * 1e-6)
    switches = ("programming_noise", "drift", "read_noise", "dac", "ir_drop", "adc")
    off = [name for name in args.off.split(",") if name]
    if any(name not in switches for name in off):
        parser.error(f"--off: expected names among {', '.join(switches)}, got {args.off!r}")
    tile = dataclasses.replace(tile, **{name: False for name in off})
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        model_path = save_crossbar_model(CrossbarModel.from_params(args.r_wire, args.r_wire),
                                         Path(tmp) / "xbar.h5")
        for label, cell in cells.items():
            hardware = AnalogHardware.from_files(preset="joshi2020", crossbar_model=model_path,
                                                 tile=tile, cell=cell)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ValidityRangeWarning)
                result, _ = run_evaluation("resnet-hwa", "fashion-mnist", times, args.repeats, hardware,
                                           test_limit=args.test_limit, seed=16, output_dir=Path(tmp) / label)
            outside = [str(w.message) for w in caught if issubclass(w.category, ValidityRangeWarning)]
            results[label] = result
            print(f"{label}: done ({result.elapsed_s:.0f} s); layers read outside the crossbar model's validity "
                  f"range: {len(outside)}", flush=True)
            for message in outside:
                print(f"  {message}", flush=True)
    first = next(iter(results.values()))
    print(f"\nHWA ResNet, Fashion-MNIST ({first.n_test} test images), joshi2020, global drift compensation, "
          f"256x256 tiles, {args.r_wire:g} ohm wire segments, weights mapped up to {args.g_max:g} uS"
          f"{f', off: {args.off}' if args.off else ''}; "
          f"accuracy % (mean +- std over {args.repeats} programmings); float {100 * first.float_accuracy:.2f} %")
    print(f"{'cell':<20}" + "".join(f"{f't = {t:g} s':>18}" for t in times))
    for label, result in results.items():
        curve = result.curves["all"]
        print(f"{label:<20}" + "".join(f"{100 * m:>11.2f} +- {100 * s:4.2f}" for m, s in zip(curve.mean, curve.std)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
