"""Analog MVM speed: one 512x512 layer at batch 1024 against a float32 numpy matmul, and the full
Fashion-MNIST test set through the small ResNet at 5 read times x 5 repeats.

Run: python benchmarks/bench_mvm.py [--skip-resnet]. Timings are best of several repeats; the machine is
shared, so compare the ratios printed side by side rather than absolute times.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from devicelab.behavioral import CrossbarModel, Validity
from devicelab.behavioral.adc import ideal_adc
from devicelab.devices import preset
from devicelab.errors import ValidityRangeWarning
from devicelab.inference import AnalogConfig, AnalogHardware, AnalogNetwork, evaluate_accuracy_vs_time
from devicelab.network import load_dataset, resolve_network
from devicelab.network.layers import Flatten, Linear
from devicelab.network.model import Network

MODEL = preset("joshi2020")
VALIDITY = Validity(rows=(1, 512), cols=(1, 512), r_wire=(0.0, 5.0), r_driver=(0.0, 50.0), r_sense=(0.0, 50.0),
                    g=(0.0, 2 * MODEL.g_max), v_max=0.3, devices=("linear", "sinh"), differential=(False, True))


def best_of(fn, repeats=7):
    """Smallest wall time (s) of ``repeats`` calls."""
    return interleaved_best([fn], repeats)[0]


def interleaved_best(fns, repeats=25, clock=time.perf_counter):
    """Smallest time (s) of each function over ``repeats`` rounds that call them in turn (interleaving
    keeps the comparison fair when other processes load the machine unevenly)."""
    best = [np.inf] * len(fns)
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            start = clock()
            fn()
            best[k] = min(best[k], clock() - start)
    return best


def bench_layer(rng):
    w = rng.standard_normal((512, 512)).astype(np.float32)
    net = Network([Flatten(), Linear("fc", w)], (1, 1, 512), 512, "bench")
    x = rng.standard_normal((1024, 512)).astype(np.float32)
    matrix = net.weight_layers()[0].matrix
    linear_xbar = CrossbarModel.from_params(1.0, 1.0, differential=True, validity=VALIDITY)
    sinh_xbar = CrossbarModel.from_params(1.0, 1.0, device="sinh", v0=0.25, differential=True, validity=VALIDITY)
    all_on = AnalogConfig()  # programming noise, drift, read noise, 8-bit DAC and ADC, IR drop: all on
    cases = [
        ("all on, IR drop (linear crossbar model), ideal 8-bit ADC", all_on, linear_xbar, None),
        ("  + per-MVM output noise 1 % of ADC full scale", dataclasses.replace(all_on, output_noise=0.01),
         linear_xbar, None),
        ("  + behavioral ADCModel object (8-bit) instead of ideal", all_on, linear_xbar, ideal_adc(8, 0.0, 1.0)),
        ("  + sinh-device crossbar model (apply() per MVM)", all_on, sinh_xbar, None),
    ]
    print("512x512 layer, batch 1024; best of 25 interleaved rounds; ratio = analog forward / float32 matmul.")
    print("wall: default BLAS threads, wall clock; wall1 / cpu1: BLAS limited to 1 thread, wall clock / CPU time")
    print("of this thread (cpu1 is insensitive to other processes taking the cores).")
    print(f"{'case':58s} {'matmul ms':>9s} {'fwd ms':>7s} {'wall':>5s} {'wall1':>5s} {'cpu1':>5s} {'read_at ms':>10s}")
    for label, config, xbar, adc in cases:
        hardware = AnalogHardware(MODEL, config, xbar, adc)  # global drift compensation
        analog = AnalogNetwork(net, hardware, x[:256].reshape(256, 1, 1, 512), rng)
        t_read = best_of(lambda: analog.read_at(86400.0, rng), repeats=3)
        state = analog.read_at(86400.0, rng)
        pl = analog.layers["fc"]
        fns = [lambda: x @ matrix, lambda: state.layer_output(pl, x)]
        t_float, t_analog = interleaved_best(fns)
        with threadpool_limits(1):
            w_float, w_analog = interleaved_best(fns)
            c_float, c_analog = interleaved_best(fns, clock=time.thread_time)
        print(f"{label:58s} {1e3 * t_float:9.2f} {1e3 * t_analog:7.2f} {t_analog / t_float:5.2f} "
              f"{w_analog / w_float:5.2f} {c_analog / c_float:5.2f} {1e3 * t_read:10.1f}")


def bench_resnet(rng):
    net = resolve_network("resnet-hwa", "fashion-mnist")
    test = load_dataset("fashion-mnist", "test")
    cal = load_dataset("fashion-mnist", "train").subset(256, rng)
    start = time.perf_counter()
    net.accuracy(test.x, test.y)
    t_float = time.perf_counter() - start
    times = [1, 3600, 86400, 2592000, 31536000]
    start = time.perf_counter()
    result = evaluate_accuracy_vs_time(net, test, cal.x, AnalogHardware(MODEL), times, 5, rng)
    t_total = time.perf_counter() - start
    print(f"\nsmall ResNet ({net.n_parameters()} parameters), Fashion-MNIST test set ({len(test)} images):")
    print(f"  float forward of the test set: {t_float:.1f} s")
    print(f"  5 times x 5 repeats (25 analog passes + programming + compensation): {t_total:.1f} s "
          f"= {t_total / 25:.2f} s per pass = {t_total / 25 / t_float:.2f}x the float pass")
    print("  accuracy (%), global compensation:", np.round(100 * result.curves["all"].mean, 2).tolist())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-resnet", action="store_true", help="only the single-layer benchmark")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ValidityRangeWarning)
        bench_layer(rng)
        if not args.skip_resnet:
            bench_resnet(rng)


if __name__ == "__main__":
    main()
