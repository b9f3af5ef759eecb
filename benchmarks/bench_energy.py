"""Cost of the energy accounting: the full Fashion-MNIST test set through the shipped HWA ResNet, one analog
pass at t = 1 s without and with the energy meter, measured side by side (interleaved, best of 3).

Run: python benchmarks/bench_energy.py [--crossbar] [--repeats R] [--test-limit N]. With --crossbar the tiles have a linear differential
crossbar model (2 ohm segments) and the time of the nodal calibration of the array energy is printed too.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from devicelab.behavioral import CrossbarModel, Validity
from devicelab.devices import preset
from devicelab.inference import AnalogConfig, AnalogHardware, AnalogNetwork
from devicelab.inference.energy import EnergyMeter, EnergyModel, energy_from_meter
from devicelab.network import load_dataset, resolve_network

MODEL = preset("joshi2020")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--crossbar", action="store_true", help="tiles with a 2 ohm linear crossbar model")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--test-limit", type=int, default=None, help="only the first N test images")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    net = resolve_network("resnet-hwa", "fashion-mnist")
    test = load_dataset("fashion-mnist", "test").subset(args.test_limit)
    calibration = load_dataset("fashion-mnist", "train").subset(256, rng)
    crossbar = None
    if args.crossbar:
        validity = Validity(rows=(1, 512), cols=(1, 512), r_wire=(0.0, 5.0), r_driver=(0.0, 50.0),
                            r_sense=(0.0, 50.0), g=(0.0, 2 * MODEL.g_max), v_max=0.3, devices=("linear",),
                            differential=(True,))
        crossbar = CrossbarModel.from_params(2.0, 2.0, differential=True, validity=validity)
    hardware = AnalogHardware(MODEL, AnalogConfig(), crossbar)  # global drift compensation
    analog = AnalogNetwork(net, hardware, calibration.x, rng)
    state = analog.read_at(1.0, rng)
    energy_model = EnergyModel()
    best = {"plain": np.inf, "meter": np.inf}
    meter, meter_time = None, np.inf
    for _ in range(args.repeats):
        start = time.perf_counter()
        plain = net.accuracy(test.x, test.y, state)
        best["plain"] = min(best["plain"], time.perf_counter() - start)
        start = time.perf_counter()
        meter = EnergyMeter(state, energy_model.calibration_vectors)
        metered = net.accuracy(test.x, test.y, meter)
        best["meter"] = min(best["meter"], time.perf_counter() - start)
        meter_time = min(meter_time, meter.elapsed)
    meter.n_images = len(test.x)
    start = time.perf_counter()
    result = energy_from_meter(meter, analog, 1.0, energy_model, metered)
    summary = time.perf_counter() - start
    print(f"ResNet, {len(test.x)} Fashion-MNIST test images, one analog pass at t = 1 s"
          f"{' with a 2 ohm crossbar model' if crossbar else ''}:")
    print(f"  plain pass {best['plain']:.2f} s, metered pass {best['meter']:.2f} s "
          f"(ratio {best['meter'] / best['plain']:.3f}; meter's own time {meter_time:.2f} s); accuracy "
          f"{plain:.4f} / {metered:.4f}")
    print(f"  energy summary incl. nodal calibration {summary:.2f} s "
          f"({summary / best['plain']:.2f} passes); energy per inference {result.energy.total:.4g} J, "
          f"{result.tops_per_watt:.3g} TOPS/W")


if __name__ == "__main__":
    main()
