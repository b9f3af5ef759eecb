"""The one in-memory measurement table every reader produces and every fit consumes.

Canonical long layout, one row per read:

============  ======  =====================================================
column        unit    meaning
============  ======  =====================================================
device        --      device identifier (integer code; labels kept aside)
g_target      S       conductance the device was programmed to
t             s       time since the end of programming
g             S       measured conductance at this read
temperature   K       optional: device temperature during the read/bake
============  ======  =====================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Canonical columns and their SI units; ``temperature`` is optional.
COLUMNS = {"device": "1", "g_target": "S", "t": "s", "g": "S", "temperature": "K"}
REQUIRED = ("device", "g_target", "t", "g")
#: Columns of read I-V sweeps (:class:`IVTable`); ``g_target`` is optional.
IV_COLUMNS = {"device": "1", "v": "V", "i": "A", "g_target": "S"}
IV_REQUIRED = ("device", "v", "i")


@dataclass(frozen=True, eq=False)
class MeasurementTable:
    """Validated measurement reads in SI units (see module docstring for the columns).

    Attributes
    ----------
    device : ndarray of int64
        Device code per read; ``device_labels[code]`` is the label found in the file.
    g_target, t, g : ndarray of float64
        Target conductance (S), time since programming (s), measured conductance (S).
    temperature : ndarray of float64 or None
        Temperature (K) per read, or None when the file has none.
    device_labels : ndarray
        Original device identifiers, indexed by code.
    source : str
        Where the data came from (file path, or a description for generated data).
    sha256 : str or None
        SHA-256 of the source file's bytes, for provenance.
    n_dropped : int
        Reads the reader dropped as invalid (only with a mapping that says ``invalid_rows = "drop"``).
    """

    device: np.ndarray
    g_target: np.ndarray
    t: np.ndarray
    g: np.ndarray
    temperature: np.ndarray | None = None
    device_labels: np.ndarray | None = None
    source: str = "<memory>"
    sha256: str | None = field(default=None, compare=False)
    n_dropped: int = field(default=0, compare=False)

    def __len__(self) -> int:
        return int(self.g.shape[0])

    @property
    def n_devices(self) -> int:
        """Number of distinct devices."""
        return int(np.unique(self.device).size)

    def levels(self) -> np.ndarray:
        """Sorted distinct target conductances, S."""
        return np.unique(self.g_target)

    def select(self, mask: np.ndarray) -> "MeasurementTable":
        """A new table holding only the reads where ``mask`` is True."""
        mask = np.asarray(mask, dtype=bool)
        return MeasurementTable(
            device=self.device[mask],
            g_target=self.g_target[mask],
            t=self.t[mask],
            g=self.g[mask],
            temperature=None if self.temperature is None else self.temperature[mask],
            device_labels=self.device_labels,
            source=self.source,
            sha256=self.sha256,
            n_dropped=self.n_dropped,
        )


@dataclass(frozen=True)
class IVTable:
    """Read current-voltage sweeps (read nonlinearity), one row per (device, voltage) point.

    Attributes
    ----------
    device : ndarray of int64
        Device code per point; ``device_labels[code]`` is the label found in the file.
    v : ndarray of float64
        Read voltage, V.
    i : ndarray of float64
        Measured read current, A.
    g_target : ndarray of float64 or None
        Target conductance (S) per point, when known.
    device_labels : ndarray or None
        Original device identifiers, indexed by code.
    source : str
        Where the data came from.
    """

    device: np.ndarray
    v: np.ndarray
    i: np.ndarray
    g_target: np.ndarray | None = None
    device_labels: np.ndarray | None = None
    source: str = "<memory>"
    sha256: str | None = field(default=None, compare=False)

    def __len__(self) -> int:
        return int(self.i.shape[0])

    @property
    def n_devices(self) -> int:
        """Number of distinct devices."""
        return int(np.unique(self.device).size)
