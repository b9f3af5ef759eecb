"""Read, map and validate measurement files into one in-memory table type.

Public API: :class:`MeasurementTable`, :class:`IVTable`.
"""

from devicelab.measurements.table import COLUMNS, REQUIRED, MeasurementTable  # noqa: F401
from devicelab.measurements.table import IV_COLUMNS, IV_REQUIRED, IVTable  # noqa: F401
