"""Units accepted in measurement files, defined once, and their conversion to SI.

Every unit belongs to one quantity (conductance, time, temperature, voltage, current, or "1" for
dimensionless ids and level indices). Resistance units are accepted wherever a conductance is expected:
they convert by G = 1 / R. Names are case-sensitive ("uS" is microsiemens, "us" microseconds).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Unit:
    """A unit: SI value = (value * scale + offset), or 1 / (value * scale) when ``reciprocal``."""

    name: str
    quantity: str
    scale: float
    offset: float = 0.0
    reciprocal: bool = False

    def to_si(self, values: np.ndarray) -> np.ndarray:
        """Convert an array of values in this unit to the SI unit of its quantity (new array)."""
        values = np.asarray(values, dtype=float)
        if self.reciprocal:
            with np.errstate(divide="ignore"):
                return 1.0 / (values * self.scale)
        return values * self.scale + self.offset


_UNIT_LIST = [
    Unit("1", "1", 1.0),
    Unit("S", "conductance", 1.0),
    Unit("mS", "conductance", 1e-3),
    Unit("uS", "conductance", 1e-6),
    Unit("µS", "conductance", 1e-6),
    Unit("nS", "conductance", 1e-9),
    Unit("pS", "conductance", 1e-12),
    Unit("ohm", "conductance", 1.0, reciprocal=True),
    Unit("kohm", "conductance", 1e3, reciprocal=True),
    Unit("Mohm", "conductance", 1e6, reciprocal=True),
    Unit("Gohm", "conductance", 1e9, reciprocal=True),
    Unit("s", "time", 1.0),
    Unit("ms", "time", 1e-3),
    Unit("us", "time", 1e-6),
    Unit("µs", "time", 1e-6),
    Unit("ns", "time", 1e-9),
    Unit("min", "time", 60.0),
    Unit("h", "time", 3600.0),
    Unit("day", "time", 86400.0),
    Unit("K", "temperature", 1.0),
    Unit("degC", "temperature", 1.0, offset=273.15),
    Unit("V", "voltage", 1.0),
    Unit("mV", "voltage", 1e-3),
    Unit("A", "current", 1.0),
    Unit("mA", "current", 1e-3),
    Unit("uA", "current", 1e-6),
    Unit("µA", "current", 1e-6),
    Unit("nA", "current", 1e-9),
    Unit("pA", "current", 1e-12),
]

#: Every accepted unit by name.
UNITS: dict[str, Unit] = {u.name: u for u in _UNIT_LIST}

#: The quantity of every canonical column (measurement and I-V tables).
QUANTITY = {
    "device": "1",
    "g_target": "conductance",
    "t": "time",
    "g": "conductance",
    "temperature": "temperature",
    "v": "voltage",
    "i": "current",
}

#: SI unit name of each quantity.
SI_UNIT = {"1": "1", "conductance": "S", "time": "s", "temperature": "K", "voltage": "V", "current": "A"}


def unit_for(column: str, name: str | None) -> Unit:
    """The :class:`Unit` called ``name`` for canonical ``column`` (None: the SI unit).

    Raises ValueError with the accepted names when the unit is unknown or measures another quantity.
    """
    quantity = QUANTITY[column]
    if name is None:
        return UNITS[SI_UNIT[quantity]]
    unit = UNITS.get(name)
    accepted = ", ".join(u.name for u in _UNIT_LIST if u.quantity == quantity)
    if unit is None:
        raise ValueError(f"unknown unit {name!r} for column '{column}' (accepted: {accepted})")
    if unit.quantity != quantity:
        raise ValueError(f"unit {name!r} is a {unit.quantity} unit, but column '{column}' needs {quantity} "
                         f"(accepted: {accepted})")
    return unit
