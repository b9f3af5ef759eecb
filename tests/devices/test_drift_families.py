"""Drift-law families chosen by the data: truths from several families, recovered from one drift run.

Design: a drift run read from 20 s to 1 day at 9 levels (1-25 uS, geometric), 400 devices
per level; only this table is fitted (sigma_prog from the drift intercepts, Q_s from the read-to-read
residuals). The fitted and the true model are then both *sampled* (PCMModel.sample, the same random numbers
for both) at 25 conductances spread over the measured range and at 1 h, 1 day and 30 days.

Targets: the sampled mean within 2 % and the sampled std within 10 % at every conductance and time.
Sampling noise of the comparison: 20 000 devices per conductance and common random numbers, so the
difference of two sampled means has a relative noise well below 0.2 % and that of two stds below 1 %;
the tolerances are the required accuracy (2 % mean, 10 % std), not tuned numbers.
"""

import warnings

import numpy as np
import pytest

from devicelab.devices import FitOptions, PCMModel, fit_pcm_model
from devicelab.devices import synthetic as syn
from devicelab.devices.laws import LinearClip, LogLinearClip, PchipLaw, PowerLawClip, QuadraticClip

G_MAX = 25e-6
LEVELS = np.geomspace(1e-6, 25e-6, 9)
TIMES = np.geomspace(20.0, 86400.0, 12)
DAY = 86400.0
#: Devices per level: at 1 uS the per-device nu estimate has a read-noise error of ~0.04, so the level mean of
#: nu is known to ~0.04/sqrt(DEVICES); 3000 devices make that 0.0008, a 0.9 % error of the mean at 30 days.
DEVICES = 3000


def _truth(nu_mean, nu_std, name):
    return PCMModel(g_max=G_MAX, prog_coeffs=(0.26e-6, 1.9e-6, -1.1e-6), nu_mean=nu_mean, nu_std=nu_std,
                    read_noise=PowerLawClip(0.0088, 0.65, 0.2), name=name)


TRUTHS = {
    # a held-out truth: drift exponent linear in G, not in ln G
    "linear": _truth(LinearClip(0.095, -0.07, lo=0.0), LinearClip(0.030, -0.018, lo=0.0), "linear"),
    "quadratic": _truth(QuadraticClip(0.10, -0.16, 0.10, lo=0.0), QuadraticClip(0.032, -0.05, 0.035, lo=0.0),
                        "quadratic"),
    # a sigmoid-like step between two plateaus, which no closed form above describes
    "pchip": _truth(PchipLaw((0.04, 0.2, 0.45, 1.0), (0.09, 0.085, 0.045, 0.04)),
                    PchipLaw((0.04, 0.3, 1.0), (0.025, 0.02, 0.008)), "pchip"),
    "loglinear": _truth(LogLinearClip(0.0244, -0.0155, 0.049, 0.1), LogLinearClip(-0.0059, -0.0125, 0.008, 0.045),
                        "loglinear"),
}


def _fit(truth, seed, families=None):
    rng = np.random.default_rng(seed)
    table = syn.drift_table(truth, LEVELS, DEVICES, TIMES, rng)
    options = FitOptions(g_max=G_MAX) if families is None else FitOptions(g_max=G_MAX, drift_laws=families)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fit-quality notes on sigma_prog of a drift-only run are not the subject
        return fit_pcm_model(table, options=options)


def _sampled_moments(model, g, t, seed=7, n=20_000):
    g_dev = np.repeat(g, n)
    reads = model.sample(g_dev, t, np.random.default_rng(seed)).reshape(len(t), g.size, n)
    return reads.mean(axis=-1), reads.std(axis=-1)


@pytest.fixture(scope="module", params=sorted(TRUTHS))
def fitted(request):
    truth = TRUTHS[request.param]
    return truth, _fit(truth, seed=11)


def test_sampled_moments_match_the_truth_between_the_levels_up_to_30_days(fitted):
    truth, result = fitted
    grid = np.geomspace(LEVELS[0], LEVELS[-1], 25)
    times = np.array([3600.0, DAY, 30 * DAY])
    mean, std = _sampled_moments(result.model, grid, times)
    true_mean, true_std = _sampled_moments(truth, grid, times)
    mean_err = np.max(np.abs(mean / true_mean - 1))
    std_err = np.max(np.abs(std / true_std - 1))
    chosen = result.parts["nu_mean"].formula
    assert mean_err < 0.02, f"{truth.name}: mean off by {mean_err:.2%} ({chosen})"
    assert std_err < 0.10, f"{truth.name}: std off by {std_err:.2%} ({chosen})"


def test_every_family_is_a_reported_candidate(fitted):
    _, result = fitted
    labels = [c["model"] for c in result.parts["nu_mean"].candidates]
    for family in ("loglinear", "linear", "quadratic", "pchip"):
        assert any(label.startswith(family) for label in labels), (family, labels)
    chosen = min(result.parts["nu_mean"].candidates, key=lambda c: c["bic"])
    assert chosen["model"] in result.parts["nu_mean"].formula


def test_fitted_model_states_the_measured_g_range(fitted):
    _, result = fitted
    assert result.model.g_range == pytest.approx((LEVELS[0], LEVELS[-1]))


@pytest.mark.slow
def test_loglinear_only_misses_the_linear_truth_that_the_families_capture():
    # the measured failure of the log-linear-only fit (mean off by ~4 % at 1 day, 5 uS); the family
    # choice must do better on the same data at the same point
    truth = TRUTHS["linear"]
    g, times = np.array([5e-6]), np.array([DAY, 30 * DAY])
    true_mean, _ = _sampled_moments(truth, g, times)
    errs = {}
    for label, families in (("loglinear", ("loglinear",)), ("all", None)):
        mean, _ = _sampled_moments(_fit(truth, 11, families).model, g, times)
        errs[label] = float(np.max(np.abs(mean / true_mean - 1)))
    assert errs["all"] < 0.02
    assert errs["all"] < errs["loglinear"]


def test_cli_drift_law_option_restricts_the_families(tmp_path):
    from click.testing import CliRunner

    from devicelab.cli import cli
    from devicelab.devices import load_model
    from devicelab.measurements import write_measurements

    table = syn.drift_table(TRUTHS["linear"], LEVELS, 60, TIMES, np.random.default_rng(5))
    write_measurements(table, tmp_path / "drift.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fit-quality notes of a small run are not the subject
        result = CliRunner().invoke(cli, ["fit", str(tmp_path / "drift.csv"), "--drift-law", "loglinear",
                                          "-o", str(tmp_path / "m.h5")])
    assert result.exit_code == 0, result.output
    model = load_model(tmp_path / "m.h5")
    assert model.nu_mean.law == model.nu_std.law == "loglinear"
    assert "pchip" not in result.output
