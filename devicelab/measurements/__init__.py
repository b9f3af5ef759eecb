"""Read, map and validate measurement files into one in-memory table type.

Public API: :class:`MeasurementTable`.
"""

from devicelab.measurements.table import COLUMNS, REQUIRED, MeasurementTable  # noqa: F401
