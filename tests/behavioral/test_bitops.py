"""Behavioral PIM bit-operation model: built from SPICE Monte Carlo, checked against a held-out one; files."""

import h5py
import numpy as np
import pytest

from devicelab.behavioral.bitops import (
    BitOpsModel,
    compare_with_spice,
    from_characterization,
    gaussian_error_probability,
    ideal_bitops,
    load_bitops_model,
    save_bitops_model,
)
from devicelab.devices.mtj import low_tmr, pim_default
from devicelab.errors import ConfigError, ModelFileError
from devicelab.spice.pim import SenseSpec, characterize_bitops, reference_voltages, sensing_statistics


@pytest.fixture(scope="module")
def poor_corner():
    """TMR 50 %, 8 % spread: error rates of a few % are countable with 12 instances per pattern."""
    model = low_tmr().replace(sigma_p=0.08, sigma_ap=0.08)
    build = characterize_bitops(model, SenseSpec(), 12, rng=np.random.default_rng(10))
    heldout = characterize_bitops(model, SenseSpec(), 12, rng=np.random.default_rng(11))
    return from_characterization(build), heldout


def test_model_matches_heldout_monte_carlo(poor_corner):
    """Every (operation, k): the held-out error count is consistent with the model's probability
    (two-sided exact binomial test, p > 1e-3 for each of the ~30 rows: a family-wise false alarm below 3 %)."""
    model, heldout = poor_corner
    rows = compare_with_spice(model, heldout)
    assert len(rows) == 3 * 3 + 5 * 4
    assert sum(r["errors"] for r in rows) > 0  # the corner is poor enough to test something
    worst = min(rows, key=lambda r: r["pvalue"])
    assert worst["pvalue"] > 1e-3, worst


def test_energy_and_latency_come_from_the_transients(poor_corner):
    model, _ = poor_corner
    assert all(1e-15 < e < 1e-12 for e in model.energy.values())
    assert model.latency["fa_sum"] == pytest.approx(SenseSpec().t_sense + SenseSpec().t_sa)


def test_error_probability_closed_form_single_threshold():
    """One SA, no offset: P(and2 wrong | k=2) = P(V < V_ref) = Phi((V_ref - mu_2) / sigma_2)."""
    from scipy.special import ndtr

    mu, sigma, v_ref = np.array([0.1, 0.15, 0.2]), np.array([0.004, 0.005, 0.006]), np.array([0.125, 0.175])
    p = gaussian_error_probability("and2", mu, sigma, v_ref, 0.0)
    assert p[2] == pytest.approx(ndtr((0.175 - 0.2) / 0.006), rel=1e-4)
    assert p[1] == pytest.approx(ndtr((0.15 - 0.175) / 0.005), rel=1e-4)


def test_offset_adds_in_quadrature():
    """With SA offset sigma_os the and2 error is Phi(-margin / sqrt(sigma^2 + sigma_os^2))."""
    from scipy.special import ndtr

    mu, sigma, v_ref = np.array([0.1, 0.15, 0.2]), np.array([0.004, 0.005, 0.006]), np.array([0.125, 0.175])
    p = gaussian_error_probability("and2", mu, sigma, v_ref, 0.003)
    assert p[2] == pytest.approx(ndtr(-0.025 / np.hypot(0.006, 0.003)), rel=1e-4)


def test_ber_vanishes_as_tmr_over_spread_grows():
    """Sum-bit error (mean over inputs) of the Gaussian model on numpy-solved sensing statistics: strictly
    falling with TMR at fixed 5 % spread and with falling spread at fixed TMR; negligible (< 1e-9) at TMR 300 %
    with 1 % spread. (At fixed spread it does not vanish with TMR alone: the margin between 0 and 1 ones of
    three rows is bounded by the parallel P cells, V(1) / V(0) < 1.5 however large R_AP is.)"""
    spec, rng = SenseSpec(reference="midpoint"), np.random.default_rng(2)  # midpoint: no reference statistics

    def sum_error(model):
        mu, sigma = sensing_statistics(model, spec, 3, 500, rng)
        p = gaussian_error_probability("fa_sum", mu, sigma, reference_voltages(model, spec, 3), spec.sa_offset_sigma)
        return float(np.dot([1, 3, 3, 1], p) / 8)

    by_tmr = [sum_error(pim_default().replace(tmr0=t)) for t in (0.3, 0.6, 1.5)]
    assert all(a > b for a, b in zip(by_tmr, by_tmr[1:]))
    assert by_tmr[0] > 0.05
    assert sum_error(pim_default().replace(tmr0=3.0, sigma_p=0.01, sigma_ap=0.01)) < 1e-9
    by_spread = [sum_error(pim_default().replace(tmr0=0.6, sigma_p=s, sigma_ap=s)) for s in (0.12, 0.08, 0.04)]
    assert all(a > b for a, b in zip(by_spread, by_spread[1:]))


def test_retention_flips_grow_with_time():
    model = BitOpsModel(**{**ideal_bitops().__dict__, "delta": 40.0, "tau0": 1e-9})
    assert model.stored_flip_probability(0.0) == 0.0
    assert 0 < model.stored_flip_probability(86400) < model.stored_flip_probability(3.15e7) < 1


def test_save_load_roundtrip(tmp_path, poor_corner):
    model, _ = poor_corner
    path = save_bitops_model(model, tmp_path / "bitops.h5")
    back = load_bitops_model(path)
    for op in model.error:
        np.testing.assert_array_equal(back.error[op], model.error[op])
        assert back.energy[op] == model.energy[op]
        np.testing.assert_array_equal(back.spice_counts[op][0], model.spice_counts[op][0])
    assert back.sense.keys() == model.sense.keys() and back.delta == model.delta


def test_unknown_version_is_refused(tmp_path, poor_corner):
    path = save_bitops_model(poor_corner[0], tmp_path / "bitops.h5")
    with h5py.File(path, "r+") as f:
        f.attrs["format_version"] = 99
    with pytest.raises(ModelFileError, match="format_version 99"):
        load_bitops_model(path)


def test_bad_error_table_is_rejected():
    with pytest.raises(ConfigError, match="probabilities"):
        BitOpsModel(error={"and2": np.array([0.0, 2.0, 0.0])}, energy={"and2": 1e-14}, latency={"and2": 1e-9})
