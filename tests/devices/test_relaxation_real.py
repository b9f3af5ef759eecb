"""Fits of the real RRAM relaxation and read-noise data (../shared/data/rram-relaxation) through the mappings.

These are measured data (RRAM, not PCM), so the checks are physical, not exact: the spread between cells grows
with log time at every well-populated level, and the 1/f exponents lie in 0.5..1.5.
"""

import warnings
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from devicelab.cli import cli
from devicelab.devices import fit_relaxation
from devicelab.devices.relaxation import growth_per_decade
from devicelab.errors import FitQualityWarning
from devicelab.measurements import ColumnMapping, read_measurements

MAPPINGS = Path(__file__).resolve().parents[2] / "measurements" / "mappings"


@pytest.fixture(scope="module")
def techc(shared_data):
    path = shared_data / "rram-relaxation" / "techC" / "relaxdata.min.tsv.gz"
    return read_measurements(path, ColumnMapping.from_toml(MAPPINGS / "rram_techC_relax.toml"))


@pytest.fixture(scope="module")
def techa(shared_data):
    path = shared_data / "rram-relaxation" / "techA" / "tsdata.min.tsv.gz"
    return read_measurements(path, ColumnMapping.from_toml(MAPPINGS / "rram_techA_timeseries.toml"))


@pytest.fixture(scope="module")
def relaxation(techc, techa):
    # the std spread of a third of the levels is dominated by a few tail cells: those fits are flagged poor
    with pytest.warns(FitQualityWarning, match=r"11 of 33 spread fits are poor"):
        return fit_relaxation(techc, techa)


@pytest.fixture(scope="module")
def robust(techc):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no FitQualityWarning: every robust fit is good
        return fit_relaxation(techc, estimator="mad")


def test_spread_grows_with_log_time_at_every_level(relaxation):
    # >= 20 cells per (level, time); the spread at 1e5 s is 3-4x that at 10 ms in the data
    assert len(relaxation.spread) >= 30
    for part in relaxation.spread:
        assert growth_per_decade(part) > 0, part.name
        assert part.data["sigma"][-1] > part.data["sigma"][0]


def test_spread_growth_form_is_chosen_per_level(relaxation):
    forms = {str(p.data["form"]) for p in relaxation.spread}
    assert forms <= {"linear", "sqrt"}
    assert all(len(p.candidates) == 2 and p.criterion == "bic" for p in relaxation.spread)


def test_spread_growth_rate_is_physically_sized(relaxation):
    # per decade of time the spread grows by a fraction of a microsiemens (levels are 1.25 uS apart)
    rates = np.array([growth_per_decade(p) for p in relaxation.spread])
    assert np.all((rates > 0.05e-6) & (rates < 1.0e-6))


def test_read_noise_spectra_are_one_over_f(relaxation):
    assert len(relaxation.spectra) == 5
    alphas = np.array([p.value("alpha") for p in relaxation.spectra])
    assert np.all((alphas > 0.5) & (alphas < 1.5)), alphas
    assert all(p.value("A") > 0 for p in relaxation.spectra)


def test_subsampled_relaxation_still_shows_growth(techc):
    # a quarter of the cells: the conclusion must not hinge on a few outliers
    keep = (techc.device % 4) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitQualityWarning)  # growth, not fit quality, is the point here
        result = fit_relaxation(techc.select(keep), min_devices=10)
    assert sum(growth_per_decade(p) > 0 for p in result.spread) == len(result.spread)


def test_poor_std_fits_are_flagged_and_robust_fits_are_good(relaxation, robust):
    rows = relaxation.rows()["spread"]
    poor = [r for r in rows if r["poor"]]
    # a fit is poor by a chi-square test at p < 1e-3 or an end residual beyond 3 sigma: reduced chi2 >> 1
    assert len(poor) == 11 and max(r["redchi"] for r in poor) > 10
    assert all(r["p_value"] < 1e-3 or abs(r["end_residual"]) > 3 for r in poor)
    assert not any(r["poor"] for r in robust.rows()["spread"])


def test_tail_fraction_is_reported_at_each_time(robust):
    tails = robust.rows()["tails"]
    assert [r["t"] for r in tails] == [0.01, 0.1, 1.0, 4.0, 1e5]
    # a few percent of the ~16,000 cells sit beyond 5 robust sigmas; a normal population would have < 1e-6
    assert all(0.001 < r["fraction"] < 0.05 and r["cells"] > 7000 for r in tails)


def test_cli_says_levels_grow_only_with_the_caveat_when_fits_are_poor(shared_data, tmp_path):
    c_file = shared_data / "rram-relaxation" / "techC" / "relaxdata.min.tsv.gz"
    args = ["fit", "--relaxation", str(c_file), "--mapping", str(MAPPINGS / "rram_techC_relax.toml")]
    with pytest.warns(FitQualityWarning):
        plain = CliRunner().invoke(cli, args + ["--report", str(tmp_path / "r")], catch_exceptions=False)
    assert "33 of 33 levels grow, but 11 of 33 spread fits are poor" in plain.output
    assert "POOR FIT" in plain.output and "beyond 5 robust sigmas" in plain.output
    report = (tmp_path / "r" / "report.md").read_text()
    assert "**Caveat**: 11 of 33 spread fits are poor" in report and "| 100000 | 16275 | 0.58 % |" in report
    robust = CliRunner().invoke(cli, args + ["--robust"], catch_exceptions=False)
    assert "33 of 33 levels grow; every spread fit is good" in robust.output


def test_cli_relaxation_writes_report(shared_data, tmp_path):
    data = shared_data / "rram-relaxation"
    c_file, a_file = data / "techC" / "relaxdata.min.tsv.gz", data / "techA" / "tsdata.min.tsv.gz"
    result = CliRunner().invoke(cli, [
        "fit", "--relaxation", str(c_file), str(a_file),
        "--mapping", f"{c_file}={MAPPINGS / 'rram_techC_relax.toml'}",
        "--mapping", f"{a_file}={MAPPINGS / 'rram_techA_timeseries.toml'}",
        "--report", str(tmp_path / "r"), "--robust"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "alpha =" in result.output and "uS/decade" in result.output
    assert (tmp_path / "r" / "spread_growth.png").stat().st_size > 0
    assert "1/f read-noise spectra" in (tmp_path / "r" / "report.md").read_text()
