"""Energy-per-operation tables: digital post-processing and periphery areas of one process, as a TOML file.

A table is a versioned TOML file (format ``devicelab.energy_table`` version 1) that users replace with the
numbers of their own process; the shipped one is ``devicelab/data/energy/digital_45nm.toml`` (Horowitz,
ISSCC 2014, 45 nm). Every field is required; missing operations, unknown units and non-positive values are a
:class:`~devicelab.errors.InputFileError` naming the file and the field. Layout::

    format = "devicelab.energy_table"
    format_version = 1
    name, process, source = "..."                # source: the citation of the numbers
    [units]       energy = "pJ", area = "um^2", frequency = "GHz"   (see UNITS)
    [clock]       frequency, source
    [operations.<name>]  energy, area, what      # for every name in REQUIRED_OPERATIONS
    [periphery]   transistor_area, adc_sar_transistors = [base, per_extra_bit], driver_transistors,
                  sense_transistors, source

Values are converted to SI (J, m^2, Hz) on loading.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from devicelab.errors import InputFileError

FORMAT = "devicelab.energy_table"
FORMAT_VERSION = 1
UNITS = {
    "energy": {"J": 1.0, "nJ": 1e-9, "pJ": 1e-12, "fJ": 1e-15},
    "area": {"m^2": 1.0, "mm^2": 1e-6, "um^2": 1e-12},
    "frequency": {"Hz": 1.0, "MHz": 1e6, "GHz": 1e9},
}
"""Accepted units of each quantity and their SI factors (defined once)."""
REQUIRED_OPERATIONS = ("scale", "accumulate", "bias", "activation")
"""Digital operations every table must give (see :mod:`devicelab.inference.energy` for how they are counted)."""
DEFAULT_TABLE = "digital_45nm"


@dataclass(frozen=True)
class DigitalOperation:
    """One digital operation: ``energy`` (J) and ``area`` (m^2) of one unit, ``what`` it stands for."""

    energy: float
    area: float
    what: str


@dataclass(frozen=True)
class EnergyTable:
    """Energy per digital operation and periphery areas of one process (SI units; see the module docstring).

    ``operations``: name -> :class:`DigitalOperation`; ``clock_frequency`` (Hz) of the digital logic;
    ``transistor_area`` (m^2) of one minimum transistor with its wiring; ``adc_sar_transistors``
    (base, per extra bit): transistors of a b-bit SAR ADC = base + per_extra_bit (b - 1);
    ``driver_transistors`` per row driver, ``sense_transistors`` per column integrator; ``source`` and
    ``periphery_source``: citations; ``path``: the file it was read from.
    """

    name: str
    process: str
    source: str
    operations: dict
    clock_frequency: float
    clock_source: str
    transistor_area: float
    adc_sar_transistors: tuple[float, float]
    driver_transistors: float
    sense_transistors: float
    periphery_source: str
    path: str = ""

    def energy(self, operation: str) -> float:
        """Energy (J) of one ``operation``."""
        return self.operations[operation].energy

    def adc_area(self, bits: int) -> float:
        """Area (m^2) of one ``bits``-bit SAR ADC from its transistor count."""
        base, per_bit = self.adc_sar_transistors
        return (base + per_bit * (bits - 1)) * self.transistor_area


def _get(data: dict, key: str, path, where: str):
    if key not in data:
        raise InputFileError(path, f"missing {where}{key}", field=f"{where}{key}")
    return data[key]


def _positive(data: dict, key: str, path, where: str, factor: float = 1.0) -> float:
    value = _get(data, key, path, where)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise InputFileError(path, f"{where}{key}: expected a number > 0, got {value!r}", field=f"{where}{key}")
    return float(value) * factor


def _text(data: dict, key: str, path, where: str = "") -> str:
    value = _get(data, key, path, where)
    if not isinstance(value, str) or not value.strip():
        raise InputFileError(path, f"{where}{key}: expected a non-empty string, got {value!r}", field=f"{where}{key}")
    return value


def parse_energy_table(data: dict, path: str | Path = "<table>") -> EnergyTable:
    """:class:`EnergyTable` from the parsed TOML ``data`` of ``path`` (used in error messages)."""
    if data.get("format") != FORMAT:
        raise InputFileError(path, f"format: expected {FORMAT!r}, got {data.get('format')!r}", field="format")
    if data.get("format_version") != FORMAT_VERSION:
        raise InputFileError(path, f"format_version: this devicelab reads version {FORMAT_VERSION}, got "
                                   f"{data.get('format_version')!r}", field="format_version")
    units = _get(data, "units", path, "")
    factors = {}
    for quantity, accepted in UNITS.items():
        unit = _get(units, quantity, path, "units.")
        if unit not in accepted:
            raise InputFileError(path, f"units.{quantity}: unknown unit {unit!r}; expected one of {sorted(accepted)}",
                                 field=f"units.{quantity}")
        factors[quantity] = accepted[unit]
    operations_data = _get(data, "operations", path, "")
    missing = [name for name in REQUIRED_OPERATIONS if name not in operations_data]
    if missing:
        raise InputFileError(path, f"missing operation(s) {missing}; a table must give {list(REQUIRED_OPERATIONS)}",
                             field=f"operations.{missing[0]}")
    operations = {}
    for name, entry in operations_data.items():
        where = f"operations.{name}."
        operations[name] = DigitalOperation(_positive(entry, "energy", path, where, factors["energy"]),
                                            _positive(entry, "area", path, where, factors["area"]),
                                            _text(entry, "what", path, where))
    clock = _get(data, "clock", path, "")
    periphery = _get(data, "periphery", path, "")
    adc = _get(periphery, "adc_sar_transistors", path, "periphery.")
    if (not isinstance(adc, list) or len(adc) != 2
            or not all(isinstance(n, (int, float)) and not isinstance(n, bool) and n >= 0 for n in adc)):
        raise InputFileError(path, f"periphery.adc_sar_transistors: expected [base, per_extra_bit] >= 0, got {adc!r}",
                             field="periphery.adc_sar_transistors")
    return EnergyTable(
        name=_text(data, "name", path), process=_text(data, "process", path), source=_text(data, "source", path),
        operations=operations,
        clock_frequency=_positive(clock, "frequency", path, "clock.", factors["frequency"]),
        clock_source=_text(clock, "source", path, "clock."),
        transistor_area=_positive(periphery, "transistor_area", path, "periphery.", factors["area"]),
        adc_sar_transistors=(float(adc[0]), float(adc[1])),
        driver_transistors=_positive(periphery, "driver_transistors", path, "periphery."),
        sense_transistors=_positive(periphery, "sense_transistors", path, "periphery."),
        periphery_source=_text(periphery, "source", path, "periphery."), path=str(path))


def load_energy_table(path: str | Path | None = None) -> EnergyTable:
    """Read an energy table TOML file (None: the shipped ``digital_45nm`` table)."""
    if path is None:
        with resources.as_file(resources.files("devicelab") / "data" / "energy" / f"{DEFAULT_TABLE}.toml") as p:
            return load_energy_table(p)
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise InputFileError(path, f"cannot read the energy table ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputFileError(path, f"not valid TOML ({exc})") from exc
    return parse_energy_table(data, path)
