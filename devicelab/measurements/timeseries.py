"""Uniformly sampled read-noise time series viewed as a (devices x samples) matrix, for PSD analysis."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from devicelab.errors import InputFileError
from devicelab.measurements.table import MeasurementTable


@dataclass(frozen=True)
class TimeSeries:
    """Conductance samples of several devices read continuously at one sample rate.

    Attributes
    ----------
    g : ndarray, shape (n_devices, n_samples)
        Conductance samples, S, in time order.
    g_target : ndarray, shape (n_devices,)
        Target conductance per device, S.
    device : ndarray of int64, shape (n_devices,)
        Device codes (index ``device_labels`` of the table).
    fs : float
        Sample rate, Hz.
    t_start : ndarray, shape (n_devices,)
        Time of each device's first sample, s.
    """

    g: np.ndarray
    g_target: np.ndarray
    device: np.ndarray
    fs: float
    t_start: np.ndarray


def time_series(table: MeasurementTable, rtol: float = 1e-6) -> TimeSeries:
    """Arrange a table of continuous reads as one uniformly sampled series per device.

    Every device must have the same number of reads (>= 2) at one common spacing 1/fs (relative
    tolerance ``rtol``). Raises :class:`InputFileError` naming the table's source otherwise.
    """
    order = np.lexsort((table.t, table.device))
    device, t, g = table.device[order], table.t[order], table.g[order]
    codes, counts = np.unique(device, return_counts=True)
    if counts.min() != counts.max() or counts[0] < 2:
        raise InputFileError(table.source, "time series need the same number (>= 2) of reads per device, "
                                           f"found {counts.min()}..{counts.max()}")
    n = int(counts[0])
    t = t.reshape(codes.size, n)
    dt = np.diff(t, axis=1)
    step = float(np.median(dt))
    if step <= 0 or np.any(np.abs(dt - step) > rtol * step):
        raise InputFileError(table.source, f"reads are not uniformly spaced in time (median spacing {step:g} s)",
                             field="t")
    first = np.arange(codes.size) * n
    return TimeSeries(g=g.reshape(codes.size, n), g_target=table.g_target[order][first], device=codes,
                      fs=1.0 / step, t_start=t[:, 0].copy())
