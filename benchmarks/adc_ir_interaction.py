"""IR drop x ADC model: how much of the compounding loss is the ADC's transfer, and what calibration recovers.

Uses the models `make demo` writes (crossbar model bound for 2 ohm, 6-bit SPICE SAR ADC model)::

    python benchmarks/adc_ir_interaction.py demo-output [--test-limit 500]

HWA ResNet on Fashion-MNIST, joshi2020 preset, one programming, read at 1 s; no drift compensation except in
the "all on" rows (global). Prints accuracy (%) per setting.
"""

from __future__ import annotations

import argparse
import dataclasses
import warnings
from pathlib import Path

import numpy as np

from devicelab.behavioral import ideal_adc
from devicelab.inference import AnalogConfig, AnalogHardware, evaluate_accuracy_vs_time, make_compensation
from devicelab.network import load_dataset, resolve_network


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("demo_output", help="folder written by make demo (xbar_model.h5, adc/adc_sar_6bit.h5)")
    parser.add_argument("--test-limit", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    out = Path(args.demo_output)
    hw = AnalogHardware.from_files(preset="joshi2020", crossbar_model=out / "xbar_model.h5",
                                   adc_model=out / "adc" / "adc_sar_6bit.h5")
    net = resolve_network("resnet-hwa", "fashion-mnist")
    test = load_dataset("fashion-mnist", "test").subset(args.test_limit)
    cal = load_dataset("fashion-mnist", "train").subset(256, np.random.default_rng(0)).x
    ir = AnalogConfig().only("ir_drop")
    with_adc = dataclasses.replace(ir, adc=True)
    none, glob = make_compensation("none"), make_compensation("global")
    settings = [
        ("IR drop only", hw.replace(tile=ir, compensation=none)),
        ("IR drop + SAR ADC model", hw.replace(tile=with_adc, compensation=none)),
        ("IR drop + SAR ADC model without its noise",
         hw.replace(adc=dataclasses.replace(hw.adc, noise_sigma=0.0), tile=with_adc, compensation=none)),
        ("IR drop + ideal 6-bit ADC, same range",
         hw.replace(adc=ideal_adc(6, hw.adc.v_min, hw.adc.v_max), tile=with_adc, compensation=none)),
        ("SAR ADC model only", hw.replace(tile=AnalogConfig().only("adc"), compensation=none)),
        ("IR drop + SAR ADC model + column-affine",
         hw.replace(tile=dataclasses.replace(with_adc, calibration="column-affine"), compensation=none)),
        ("all on, global compensation", hw.replace(compensation=glob)),
        ("all on, global compensation + column-affine",
         hw.replace(compensation=glob).with_tile(calibration="column-affine")),
    ]
    print(f"{len(test)} test images, one programming, read at 1 s; float {100 * net.accuracy(test.x, test.y):.1f} %")
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        for label, h in settings:
            r = evaluate_accuracy_vs_time(net, test, cal, h, [1.0], 1, np.random.default_rng(args.seed))
            print(f"{label:48s} {100 * r.curves['all'].mean[0]:5.1f} %", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
