"""The real RRAM relaxation and read-noise data load through the shipped mappings (facts from its README)."""

from pathlib import Path

import numpy as np
import pytest

from devicelab.measurements import ColumnMapping, read_measurements, time_series

MAPPINGS = Path(__file__).resolve().parents[2] / "measurements" / "mappings"


@pytest.fixture(scope="module")
def relaxation(shared_data):
    mapping = ColumnMapping.from_toml(MAPPINGS / "rram_techC_relax.toml")
    return read_measurements(shared_data / "rram-relaxation" / "techC" / "relaxdata.min.tsv.gz", mapping)


@pytest.fixture(scope="module")
def noise(shared_data):
    mapping = ColumnMapping.from_toml(MAPPINGS / "rram_techA_timeseries.toml")
    return read_measurements(shared_data / "rram-relaxation" / "techA" / "tsdata.min.tsv.gz", mapping)


def test_relaxation_data_has_the_readme_row_and_cell_counts(relaxation):
    # README: 89,115 rows, ~16,300 cells. One read is a negative conductance and is dropped (see the TOML).
    assert len(relaxation) + relaxation.n_dropped == 89_115
    assert relaxation.n_dropped == 1
    assert 16_000 <= relaxation.n_devices <= 16_600


def test_relaxation_data_is_in_siemens_and_seconds(relaxation):
    np.testing.assert_array_equal(np.unique(relaxation.t), [0.0, 0.01, 0.1, 1.0, 4.0, 1e5])
    # techC gmax is 40 uS: conductances in S sit well below 1e-4 S (a unit slip would be 1e6 x larger).
    assert 0 <= relaxation.g.min() and relaxation.g.max() < 1e-4
    assert np.median(relaxation.g) == pytest.approx(20e-6, rel=0.3)


def test_relaxation_levels_are_bin_centres_close_to_the_reads_after_programming(relaxation):
    first = relaxation.select(relaxation.t == 0.0)
    # At t = 0 the read is the post-programming conductance that defines the level bin (width 1.25 uS):
    # every read must lie within half a bin of its level centre (tiny slack for float rounding).
    assert np.all(np.abs(first.g - first.g_target) <= 0.625e-6 * (1 + 1e-9))
    assert relaxation.levels().size >= 32


def test_time_series_are_five_cells_of_100000_samples_at_400_hz(noise):
    series = time_series(noise)
    assert series.g.shape == (5, 100_000)
    assert series.fs == pytest.approx(400.0, rel=1e-9)
    np.testing.assert_allclose(series.g_target, (np.array([0, 8, 16, 24, 31]) + 0.5) * 7.5e-6, rtol=1e-12)
    assert noise.t.max() == pytest.approx(99_999 / 400.0)


def test_time_series_conductances_are_in_siemens_and_ordered_by_level(noise):
    series = time_series(noise)
    # techA gmax is 240 uS. The first sample is read right after programming, within one bin width
    # (7.5 uS) of its level centre; the cells then relax (by up to ~20 uS), but stay ordered by level.
    assert np.all(np.abs(series.g[:, 0] - series.g_target) < 7.5e-6)
    assert np.all(np.diff(np.median(series.g, axis=1)) > 0)
    assert 0 < series.g.min() and series.g.max() < 2 * 240e-6
