"""Arranging continuous reads as a devices x samples matrix."""

import numpy as np
import pytest

from devicelab.errors import InputFileError
from devicelab.measurements import MeasurementTable, time_series


def table(t, device):
    n = len(t)
    return MeasurementTable(device=np.asarray(device), g_target=np.full(n, 1e-6), t=np.asarray(t, dtype=float),
                            g=np.arange(n, dtype=float) * 1e-9 + 1e-6, source="mem")


def test_reads_in_any_order_are_sorted_per_device():
    tab = table([0.2, 0.0, 0.1, 0.1, 0.0, 0.2], [0, 0, 0, 1, 1, 1])
    series = time_series(tab)
    assert series.fs == pytest.approx(10.0)
    np.testing.assert_array_equal(series.g[0], tab.g[[1, 2, 0]])
    np.testing.assert_array_equal(series.device, [0, 1])


def test_uneven_spacing_is_rejected():
    with pytest.raises(InputFileError, match="uniformly"):
        time_series(table([0.0, 0.1, 0.3], [0, 0, 0]))


def test_unequal_lengths_are_rejected():
    with pytest.raises(InputFileError, match="same number"):
        time_series(table([0.0, 0.1, 0.0], [0, 0, 1]))
