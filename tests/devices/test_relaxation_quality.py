"""Spread fits judge their own quality: poor fits (chi-square, end residual) warn, and tails are counted."""

import warnings

import numpy as np
import pytest

from devicelab.devices import fit_relaxation
from devicelab.errors import FitQualityWarning
from devicelab.measurements import MeasurementTable

TIMES = np.array([0.01, 0.1, 1.0, 10.0, 100.0, 1e4])


def _table(rng, n_cells=2000, tail_at_end=0.0):
    """Two levels whose spread follows sigma = 0.5 uS + 0.1 uS log10(t) exactly (Gaussian cells); optionally
    a fraction of cells pushed 30 sigma out at the longest time only (a tail the std cannot ignore)."""
    device, g_target, t, g = [], [], [], []
    for level, g0 in enumerate((5e-6, 20e-6)):
        ids = level * n_cells + np.arange(n_cells)
        z = rng.standard_normal((TIMES.size, n_cells))
        for k, time in enumerate(TIMES):
            sigma = 0.5e-6 + 0.1e-6 * np.log10(time)
            values = g0 + sigma * z[k]
            if tail_at_end and k == TIMES.size - 1:
                values[: int(tail_at_end * n_cells)] += 30 * sigma
            device.append(ids)
            g_target.append(np.full(n_cells, g0))
            t.append(np.full(n_cells, time))
            g.append(values)
    cat = np.concatenate
    return MeasurementTable(device=cat(device), g_target=cat(g_target), t=cat(t), g=cat(g), source="synthetic")


def test_fit_of_data_that_follows_the_law_is_good_and_silent(rng):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = fit_relaxation(_table(rng))
    rows = result.rows()
    assert not any(r["poor"] for r in rows["spread"])
    # Gaussian cells: P(|z| > 5) = 5.7e-7, so no cell of 4000 per time is in the tail (expected 0.002)
    assert all(r["fraction"] == 0 for r in rows["tails"])


def test_a_tail_at_the_longest_time_makes_the_std_fit_poor_and_is_counted(rng):
    with pytest.warns(FitQualityWarning, match=r"2 of 2 spread fits are poor .* try the robust estimator"):
        result = fit_relaxation(_table(rng, tail_at_end=0.02))
    rows = result.rows()
    assert all(r["poor"] and "longest time" in r["quality"] for r in rows["spread"])
    assert rows["tails"][-1]["fraction"] == pytest.approx(0.02, abs=1e-9)  # exactly the cells pushed out
    assert all(r["fraction"] == 0 for r in rows["tails"][:-1])


def test_the_robust_estimator_is_not_fooled_by_the_tail(rng):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = fit_relaxation(_table(rng, tail_at_end=0.02), estimator="mad")
    assert not any(r["poor"] for r in result.rows()["spread"])
