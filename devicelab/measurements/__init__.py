"""Read, map and validate measurement files into one in-memory table type.

Public API: :class:`MeasurementTable` (reads: device, g_target S, t s, g S, temperature K) and
:class:`IVTable` (device, v V, i A); :func:`read_measurements` / :func:`write_measurements` (CSV/TSV,
optionally .gz, and HDF5), :func:`read_iv` / :func:`write_iv`; :class:`ColumnMapping` for foreign files
(names, units from :data:`UNITS`, constants, level scale, wide time-series layout); :func:`time_series`
(a table of continuous reads as a devices x samples :class:`TimeSeries`).
"""

from devicelab.measurements.fileio import read_iv, read_measurements, write_iv, write_measurements  # noqa: F401
from devicelab.measurements.mapping import ColumnMapping  # noqa: F401
from devicelab.measurements.pulses import PulseMapping, PulseTable, read_pulse_table, read_pulse_trains  # noqa: F401
from devicelab.measurements.table import COLUMNS, IV_COLUMNS, IV_REQUIRED, REQUIRED, IVTable, MeasurementTable  # noqa: F401  # noqa: F401
from devicelab.measurements.timeseries import TimeSeries, time_series  # noqa: F401
from devicelab.measurements.units import UNITS, Unit  # noqa: F401
