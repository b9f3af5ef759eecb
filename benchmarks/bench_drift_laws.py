"""Drift-law families vs the log-linear-only fit: how well the sampled G(t) of a fitted model matches the truth.

Run: ``python benchmarks/bench_drift_laws.py [--seeds 11 12] [--devices 3000]``. Design as in
tests/devices/test_drift_families.py: for truths whose drift-exponent laws are linear in G, quadratic in G,
a sigmoid-like step (PCHIP) and log-linear (the joshi2020 laws), a drift run (9 levels 1-25 uS, read at 12
times 20 s .. 1 day) is fitted with every family (default) and with ``--drift-law loglinear`` only; both
fitted models and the truth are sampled (same random numbers) at 25 conductances over the measured range and
at 1 h, 1 day, 30 days. Prints the chosen laws and the largest relative error of the sampled mean and std.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

from devicelab.devices import FitOptions, PCMModel, fit_pcm_model
from devicelab.devices import synthetic as syn
from devicelab.devices.laws import LinearClip, LogLinearClip, PchipLaw, PowerLawClip, QuadraticClip

G_MAX = 25e-6
LEVELS = np.geomspace(1e-6, 25e-6, 9)
TIMES = np.geomspace(20.0, 86400.0, 12)
DAY = 86400.0


def truth(nu_mean, nu_std, name):
    """A truth model with joshi2020-like programming and read noise and the given drift laws."""
    return PCMModel(g_max=G_MAX, prog_coeffs=(0.26e-6, 1.9e-6, -1.1e-6), nu_mean=nu_mean, nu_std=nu_std,
                    read_noise=PowerLawClip(0.0088, 0.65, 0.2), name=name)


TRUTHS = {
    "linear": truth(LinearClip(0.095, -0.07, lo=0.0), LinearClip(0.030, -0.018, lo=0.0), "linear"),
    "quadratic": truth(QuadraticClip(0.10, -0.16, 0.10, lo=0.0), QuadraticClip(0.032, -0.05, 0.035, lo=0.0),
                       "quadratic"),
    "pchip": truth(PchipLaw((0.04, 0.2, 0.45, 1.0), (0.09, 0.085, 0.045, 0.04)),
                   PchipLaw((0.04, 0.3, 1.0), (0.025, 0.02, 0.008)), "pchip"),
    "loglinear": truth(LogLinearClip(0.0244, -0.0155, 0.049, 0.1), LogLinearClip(-0.0059, -0.0125, 0.008, 0.045),
                       "loglinear"),
}


def sampled_moments(model, g, t, seed=7, n=20_000):
    """Mean and std (S) of ``n`` sampled devices per conductance in ``g`` at times ``t``."""
    reads = model.sample(np.repeat(g, n), t, np.random.default_rng(seed)).reshape(len(t), g.size, n)
    return reads.mean(axis=-1), reads.std(axis=-1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[11])
    parser.add_argument("--devices", type=int, default=3000, help="devices per level")
    args = parser.parse_args()
    grid = np.geomspace(LEVELS[0], LEVELS[-1], 25)
    times = np.array([3600.0, DAY, 30 * DAY])
    print(f"drift run: 9 levels 1-25 uS x {args.devices} devices x 12 reads 20 s..1 day; errors = max over 25 G "
          f"in [1, 25] uS and t = 1 h, 1 day, 30 days")
    print(f"{'truth':<10} {'seed':>4} {'fit':<10} {'nu_mean law':<24} {'nu_std law':<24} {'mean err':>8} "
          f"{'std err':>8}")
    for seed in args.seeds:
        for name, model in TRUTHS.items():
            table = syn.drift_table(model, LEVELS, args.devices, TIMES, np.random.default_rng(seed))
            true_mean, true_std = sampled_moments(model, grid, times)
            for label, families in (("families", None), ("loglinear", ("loglinear",))):
                options = FitOptions(g_max=G_MAX, **({} if families is None else {"drift_laws": families}))
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    result = fit_pcm_model(table, options=options)
                mean, std = sampled_moments(result.model, grid, times)
                laws = [result.parts[k].formula.rsplit("[", 1)[-1].rstrip("]") for k in ("nu_mean", "nu_std")]
                print(f"{name:<10} {seed:>4} {label:<10} {laws[0]:<24} {laws[1]:<24} "
                      f"{np.max(np.abs(mean / true_mean - 1)):>8.2%} {np.max(np.abs(std / true_std - 1)):>8.2%}",
                      flush=True)


if __name__ == "__main__":
    main()
