"""Unit cells with N devices per polarity: weight noise and network accuracy vs N.

    python benchmarks/bench_unit_cells.py

1. Weight noise of the HWA ResNet (Fashion-MNIST) on joshi2020 PCM, N = 1, 2, 4 devices per polarity: the
   engine programs (and reads) every device on its own; the weights it holds after two independent
   programmings differ by twice the noise variance (the difference has no bias), so
   R_N = mean(dW_N^2) / mean(dW_1^2) estimates the variance ratio, expected 1/N for independent devices.
   99.9 % interval from the delta method. Programming noise alone at t = 0, read noise alone at t = 1 day.
2. The mean-square error against the float weights, which also holds the bias of the unused-polarity devices
   (0 S targets clipped at 0 S: a bias that averaging does not remove).
Accuracy vs time for N = 1, 2, 4 with drift compensation: ``devicelab evaluate --network resnet-hwa --dataset
fashion-mnist --preset joshi2020 --devices-per-polarity N --compensation global --repeats 3 --test-limit 2000
--seed 16`` (see BENCHMARKS.md).
"""

from __future__ import annotations

import numpy as np

from devicelab.devices import preset
from devicelab.inference import (
    AnalogConfig,
    AnalogHardware,
    AnalogNetwork,
    NoCompensation,
)
from devicelab.inference.mapping import UnitCell
from devicelab.network.data import load_dataset
from devicelab.network.model import resolve_network

Z999 = 3.29  # two-sided 99.9 % normal quantile


def weights(analog: AnalogNetwork, t: float, rng) -> np.ndarray:
    """All weights the tiles hold at time t, concatenated (weight units)."""
    state = analog.read_at(t, rng)
    return np.concatenate([state.effective_weights(name).ravel() for name in analog.layers])


def ratio(sample_n: np.ndarray, sample_1: np.ndarray) -> tuple[float, float, float]:
    """mean(sample_n^2) / mean(sample_1^2) and its 99.9 % interval (delta method)."""
    s_n, s_1 = sample_n**2, sample_1**2
    r = s_n.mean() / s_1.mean()
    rel = np.sqrt(s_n.var() / (s_n.size * s_n.mean() ** 2) + s_1.var() / (s_1.size * s_1.mean() ** 2))
    return r, r * (1 - Z999 * rel), r * (1 + Z999 * rel)


def main() -> int:
    net = resolve_network("resnet-hwa", "fashion-mnist")
    rng = np.random.default_rng(16)
    calibration = load_dataset("fashion-mnist", "train").subset(64, rng).x
    matrices = {layer.name: layer.matrix for layer in net.weight_layers()}
    print(f"HWA ResNet, {sum(m.size for m in matrices.values())} weights, joshi2020 devices, "
          "N devices per polarity (parallel programming)")
    for label, config, t in (("programming noise, t = 0", AnalogConfig().only("programming_noise"), 0.0),
                             ("read noise, t = 1 day", AnalogConfig().only("read_noise"), 86400.0)):
        diffs, errors = {}, {}
        for n in (1, 2, 4):
            hardware = AnalogHardware(preset("joshi2020"), config, compensation=NoCompensation(),
                                      cell=UnitCell(devices_per_polarity=n))
            analog = AnalogNetwork(net, hardware, calibration, rng)
            first = weights(analog, t, rng)
            analog.program(rng)
            second = weights(analog, t, rng)
            float_w = np.concatenate([matrices[name].ravel() for name in analog.layers])
            diffs[n], errors[n] = second - first, second - float_w
        print(f"\n{label}:")
        print(f"  {'N':>2} {'noise var ratio':>16} {'99.9 % interval':>20} {'expected':>9} "
              f"{'mean-square err ratio':>22}")
        for n in (2, 4):
            r, lo, hi = ratio(diffs[n], diffs[1])
            ms = np.mean(errors[n] ** 2) / np.mean(errors[1] ** 2)
            ok = "consistent" if lo <= 1 / n <= hi else "INCONSISTENT"
            print(f"  {n:>2} {r:16.4f}   [{lo:.4f}, {hi:.4f}] {1 / n:9.4f} {ms:22.4f}   {ok}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
