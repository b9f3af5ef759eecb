"""Validation of everything that goes into netlist text: names (strict regex) and numbers (finite floats).

No user string reaches ngspice unchecked: element, node, subcircuit and model names must match
:data:`NAME_PATTERN` (a letter, then letters, digits or ``_``; at most 64 characters), and every number
is converted to a finite Python float and written with :func:`spice_float` (shortest round-trip repr,
so the netlist text is deterministic and loses no precision).
"""

from __future__ import annotations

import math
import re

import numpy as np

from devicelab.errors import ConfigError

NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")


def check_name(name: object, what: str = "name") -> str:
    """Return ``name`` if it is a safe SPICE name (see :data:`NAME_PATTERN`), else raise ConfigError."""
    if not isinstance(name, str) or NAME_PATTERN.fullmatch(name) is None:
        raise ConfigError(
            f"{what}: {name!r} is not a valid SPICE name (expected a letter followed by up to 63 "
            "letters, digits or '_')"
        )
    return name


def check_number(value: object, what: str, *, minimum: float | None = None, positive: bool = False) -> float:
    """Return ``value`` as a finite float, optionally >= ``minimum`` or > 0, else raise ConfigError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{what}: expected a finite number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ConfigError(f"{what}: expected a finite number, got {number!r}")
    if positive and number <= 0:
        raise ConfigError(f"{what}: expected a number > 0, got {number!r}")
    if minimum is not None and number < minimum:
        raise ConfigError(f"{what}: expected a number >= {minimum:g}, got {number!r}")
    return number


def check_array(values: object, what: str, *, ndim: int | tuple[int, ...], minimum: float | None = None) -> np.ndarray:
    """Return ``values`` as a new finite float64 array of the given ndim (>= ``minimum``), else ConfigError."""
    try:
        array = np.array(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{what}: expected an array of numbers ({exc})") from exc
    ndims = (ndim,) if isinstance(ndim, int) else ndim
    if array.ndim not in ndims:
        raise ConfigError(f"{what}: expected a {' or '.join(map(str, ndims))}-D array, got shape {array.shape}")
    if array.size == 0:
        raise ConfigError(f"{what}: expected a non-empty array, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        bad = np.argwhere(~np.isfinite(array))[0]
        raise ConfigError(f"{what}: expected finite numbers, found {array[tuple(bad)]!r} at index {tuple(bad)}")
    if minimum is not None and np.any(array < minimum):
        bad = np.argwhere(array < minimum)[0]
        raise ConfigError(f"{what}: expected numbers >= {minimum:g}, found {array[tuple(bad)]!r} at index {tuple(bad)}")
    return array


def spice_float(value: float) -> str:
    """Netlist text of a finite float: Python's shortest round-trip repr (e.g. ``2.5e-06``)."""
    number = float(value)
    if not math.isfinite(number):
        raise ConfigError(f"refusing to write non-finite number {number!r} into a netlist")
    return repr(number)


def spice_floats(values: np.ndarray) -> list[str]:
    """Netlist text of many finite floats (see :func:`spice_float`), flattened in C order."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    if not np.all(np.isfinite(flat)):
        raise ConfigError("refusing to write non-finite numbers into a netlist")
    return [repr(x) for x in flat.tolist()]
