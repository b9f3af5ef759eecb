"""Why one programming of a multi-device unit cell run is much worse than the others: per-layer attribution.

    python benchmarks/bench_unit_cells_spread.py                     # N = 4, the BENCHMARKS.md run
    python benchmarks/bench_unit_cells_spread.py --devices-per-polarity 2

Replays the programmings of ``devicelab evaluate --network resnet-hwa --dataset fashion-mnist --preset joshi2020
--devices-per-polarity N --compensation global --repeats 3 --test-limit 2000 --seed 16`` (same seeds, same
reads, so the per-programming accuracies are the ones in that command's JSON) and, for the last read time,
puts the effective weights each programming holds (drift compensation included; DAC and ADC act on signals and
are left out) into the float network:

- ``all``: every layer analog (the weight part of the accuracy loss);
- ``only L``: layer L analog, the others float (what layer L alone costs);
- ``all but L``: every layer analog except L (what is left when L is exact).

It also prints each layer's relative mean-square weight error (mean((W_eff - W)^2) / mean(W^2)), to tell a
larger error from an error the network is more sensitive to.
"""

from __future__ import annotations

import argparse

import numpy as np

from devicelab.inference import AnalogHardware, AnalogNetwork, parse_times
from devicelab.inference.experiment import N_CALIBRATION
from devicelab.inference.mapping import UnitCell
from devicelab.network.data import load_dataset
from devicelab.network.model import resolve_network

DEFAULT_TIMES = "1,3600,86400,2592000,31536000"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices-per-polarity", type=int, default=4)
    parser.add_argument("--test-limit", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--times", default=DEFAULT_TIMES, help="read times (s), those of `devicelab evaluate`")
    args = parser.parse_args(argv)
    times = parse_times(args.times)
    net = resolve_network("resnet-hwa", "fashion-mnist")
    test = load_dataset("fashion-mnist", "test").subset(args.test_limit)
    # the order of draws of devicelab.inference.experiment.run_evaluation
    rng = np.random.default_rng(args.seed)
    calibration = load_dataset("fashion-mnist", "train").subset(N_CALIBRATION, rng)
    hardware = AnalogHardware.from_files(preset="joshi2020", compensation="global",
                                         cell=UnitCell(devices_per_polarity=args.devices_per_polarity))
    seeds = rng.integers(0, 2**63, size=args.repeats)
    floats = {layer.name: layer.matrix for layer in net.weight_layers()}

    def accuracy(matrices: dict) -> float:
        return 100 * net.accuracy(test.x, test.y, lambda layer, x: x @ matrices[layer.name])

    print(f"HWA ResNet, Fashion-MNIST ({len(test)} test images), joshi2020, {args.devices_per_polarity} devices per "
          f"polarity, global drift compensation; float {accuracy(floats):.2f} %")
    print("accuracy % per programming at t = " + ", ".join(f"{t:g}" for t in times) + " s:")
    held = []
    for k, seed in enumerate(seeds):
        programming_rng = np.random.default_rng(seed)
        analog = AnalogNetwork(net, hardware, calibration.x, programming_rng)
        row = []
        for t in times:
            state = analog.read_at(float(t), programming_rng)
            row.append(100 * state.accuracy(test.x, test.y))
        held.append({name: state.effective_weights(name).astype(np.float32) for name in analog.layers})
        print(f"  programming {k}: " + "  ".join(f"{a:6.2f}" for a in row), flush=True)
    print(f"\nat t = {times[-1]:g} s, effective weights in the float network (DAC/ADC left out):")
    names = list(floats)
    print(f"  {'layer':<14} {'rows x cols':>12}" + "".join(
        f"  {f'prog {k}: rel MSE  only  all but':>32}" for k in range(len(held))))
    for name in names:
        cells = []
        for eff in held:
            mse = float(np.mean((eff[name] - floats[name]) ** 2) / np.mean(floats[name] ** 2))
            only = accuracy({**floats, name: eff[name]})
            all_but = accuracy({**eff, name: floats[name]})
            cells.append(f"{mse:17.4f} {only:6.2f} {all_but:8.2f}")
        rows, cols = floats[name].shape
        print(f"  {name:<14} {f'{rows} x {cols}':>12}" + "".join(f"  {c:>32}" for c in cells), flush=True)
    print((f"  {'all':<14} {'':>12}" + "".join(f"  {'':>17} {accuracy(eff):6.2f} {'':>8}" for eff in held)).rstrip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
