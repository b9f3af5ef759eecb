"""Why pair interactions and the higher-order term of the loss attribution arise: the images each non-ideality loses.

Same setting and random draws as the attribution of ``benchmarks/accuracy_targets.py`` (HWA ResNet on
Fashion-MNIST, joshi2020, 8-bit DAC and ADC, global drift compensation, IR drop from the crossbar model; seed 0,
so programming k here is programming k there)::

    python benchmarks/attribution_overlap.py --crossbar-model xbar_2ohm.h5            # full test set, programming 0
    python benchmarks/attribution_overlap.py --crossbar-model xbar_2ohm.h5 --test-limit 1000 --times 1

For every single non-ideality among ``--names`` and every pair of them, the set of test images the float network
classifies correctly and the analog one does not ("lost"). A pair's interaction (loss of the pair minus both
single losses) is then exactly ``new - recovered - overlap + gained`` (the first three over the images the
float network gets right):
``overlap`` = images each single loses on its own (counted twice in the sum of singles, lost once by the pair);
``new`` = images only the pair loses; ``recovered`` = images a single loses that the pair keeps. Images the float
network gets wrong and an analog run gets right enter as ``gained`` = the pair's such images minus both singles'.
Printed in accuracy points.
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np

from devicelab.inference import AnalogConfig, AnalogHardware, AnalogNetwork
from devicelab.inference.evaluate import _only
from devicelab.network import load_dataset, resolve_network


def predictions(net, hardware, calibration, test, seed, times) -> list[np.ndarray]:
    """Predicted classes of ``test`` at each read time of one programming (``default_rng(seed)``), as
    :func:`devicelab.inference.evaluate_accuracy_vs_time` draws them."""
    rng = np.random.default_rng(seed)
    analog = AnalogNetwork(net, hardware, calibration, rng)
    out = []
    for t in times:
        state = analog.read_at(float(t), rng)
        out.append(state.network.logits(test.x, state).argmax(axis=1))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crossbar-model", required=True, help="crossbar model file (.h5), 2 ohm segments")
    parser.add_argument("--test-limit", type=int, default=None, help="first N test images (default: all)")
    parser.add_argument("--times", default="1,86400", help="read times (s), comma-separated")
    parser.add_argument("--programming", type=int, default=0, help="which programming of the seed-0 run (0, 1, 2)")
    parser.add_argument("--names", default="programming_noise,drift,read_noise,ir_drop",
                        help="non-idealities to look at, comma-separated")
    args = parser.parse_args(argv)
    times = [float(t) for t in args.times.split(",")]
    names = args.names.split(",")
    dataset = "fashion-mnist"
    net = resolve_network("resnet-hwa", dataset)
    test = load_dataset(dataset, "test").subset(args.test_limit)
    base = AnalogHardware.from_files(preset="joshi2020", crossbar_model=args.crossbar_model, compensation="global",
                                     tile=AnalogConfig(dac_bits=8, adc_bits=8))
    rng = np.random.default_rng(0)  # as accuracy_targets.py: calibration images first, then the seeds
    calibration = load_dataset(dataset, "train").subset(256, rng).x
    seed = int(rng.integers(0, 2**63, size=args.programming + 1)[args.programming])
    right = net.logits(test.x).argmax(axis=1) == test.y
    runs = {"all": base}
    runs.update({n: base.replace(tile=_only(base.tile, [n])) for n in names})
    runs.update({f"{a}+{b}": base.replace(tile=_only(base.tile, [a, b])) for a, b in itertools.combinations(names, 2)})
    lost, gained = {}, {}
    for label, hw in runs.items():
        for t, pred in zip(times, predictions(net, hw, calibration, test, seed, times)):
            ok = pred == test.y
            lost[label, t], gained[label, t] = right & ~ok, ~right & ok
        print(f"ran {label}", flush=True)
    n = len(test)
    pts = 100.0 / n
    print(f"\nHWA ResNet, Fashion-MNIST ({n} test images, float {100 * right.mean():.2f} %), programming "
          f"{args.programming} of the seed-0 run; accuracy points")
    for t in times:
        print(f"\nt = {t:g} s")
        print(f"{'run':<32}{'lost':>7}{'gained':>8}{'net loss':>10}")
        for label in runs:
            print(f"{label:<32}{pts * lost[label, t].sum():7.2f}{pts * gained[label, t].sum():8.2f}"
                  f"{pts * (lost[label, t].sum() - gained[label, t].sum()):10.2f}")
        print(f"\n{'pair':<32}{'interaction':>12}{'= new':>8}{'- recovered':>12}{'- overlap':>10}{'+ gained':>10}")
        for a, b in itertools.combinations(names, 2):
            la, lb, lab = lost[a, t], lost[b, t], lost[f"{a}+{b}", t]
            either = la | lb
            new, recovered, overlap = (lab & ~either).sum(), (either & ~lab).sum(), (la & lb).sum()
            gain = gained[f"{a}+{b}", t].sum() - gained[a, t].sum() - gained[b, t].sum()
            interaction = (lab.sum() - la.sum() - lb.sum()) - gain
            print(f"{a + '+' + b:<32}{pts * interaction:12.2f}{pts * new:8.2f}{pts * recovered:12.2f}"
                  f"{pts * overlap:10.2f}{-pts * gain:10.2f}")
        union = np.zeros(n, dtype=bool)
        for name in names:
            union |= lost[name, t]
        summed = sum(int(lost[name, t].sum()) for name in names)
        print(f"\nimages lost by at least one of the singles: {pts * union.sum():.2f}; sum of the singles' lost "
              f"images: {pts * summed:.2f} (the difference is counted more than once); lost with everything on: "
              f"{pts * lost['all', t].sum():.2f}, of which also lost by some single: "
              f"{pts * (lost['all', t] & union).sum():.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
