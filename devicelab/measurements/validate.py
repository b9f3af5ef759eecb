"""Value checks of measurement columns (in SI units), vectorized, with errors naming file, row and field.

Checks: every value finite (no NaN/missing, no infinity); times >= 0 s; conductances in [0, G_ABSURD];
temperatures in (0, T_ABSURD]; no duplicate reads (same device at the same time).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from devicelab.errors import InputFileError

#: Conductances above this (S) are rejected as absurd for a memory device (usually a unit mistake).
G_ABSURD = 1.0
#: Temperatures above this (K) are rejected as absurd (usually degC given as K or similar).
T_ABSURD = 1500.0

#: Rule per canonical column: (lower bound, lower inclusive, upper bound, description of the valid range).
_RANGES = {
    "t": (0.0, True, np.inf, "time must be >= 0 s"),
    "g": (0.0, True, G_ABSURD, f"conductance must be in [0, {G_ABSURD:g}] S"),
    "g_target": (0.0, True, G_ABSURD, f"target conductance must be in [0, {G_ABSURD:g}] S"),
    "temperature": (0.0, False, T_ABSURD, f"temperature must be in (0, {T_ABSURD:g}] K"),
}

#: Locates flat index i of a column: returns (1-based row, field description).
Locator = Callable[[int, str], tuple[int, str]]


def long_locator(row_numbers: np.ndarray | None = None) -> Locator:
    """Locator for long tables: read i is data row i + 1 (or ``row_numbers[i]`` when rows were reordered)."""
    return lambda i, column: (int(row_numbers[i]) if row_numbers is not None else i + 1, column)


def invalid_mask(path, columns: dict[str, np.ndarray], locate: Locator, drop: bool) -> np.ndarray:
    """Boolean mask of invalid reads; raises :class:`InputFileError` at the first one unless ``drop``.

    ``columns`` maps canonical names to float arrays in SI units, all of the same length.
    """
    n = len(next(iter(columns.values())))
    bad_any = np.zeros(n, dtype=bool)
    first: tuple[int, str, str] | None = None
    for name, values in columns.items():
        lo, lo_inclusive, hi, rule = _RANGES.get(name, (-np.inf, True, np.inf, "value must be finite"))
        finite = np.isfinite(values)
        with np.errstate(invalid="ignore"):
            in_range = (values >= lo if lo_inclusive else values > lo) & (values <= hi)
        bad = ~finite | ~in_range
        if not bad.any():
            continue
        bad_any |= bad
        i = int(np.argmax(bad))
        if first is None or i < first[0]:
            value = values[i]
            if np.isnan(value):
                message = "missing value or NaN (expected a number)"
            elif not finite[i]:
                message = f"infinite value ({rule})"
            else:
                message = f"value {value:g} out of range ({rule}{'; wrong unit?' if value > hi else ''})"
            first = (i, name, message)
    if first is not None and not drop:
        row, field = locate(first[0], first[1])
        raise InputFileError(path, first[2], row=row, field=field)
    return bad_any


def check_duplicates(path, device: np.ndarray, key: np.ndarray, key_name: str, locate: Locator,
                     device_labels: np.ndarray | None = None) -> None:
    """Raise :class:`InputFileError` if a device has two reads at the same ``key`` (e.g. time, s)."""
    if device.size < 2:
        return
    order = np.lexsort((key, device))
    same = (device[order][1:] == device[order][:-1]) & (key[order][1:] == key[order][:-1])
    if not same.any():
        return
    pairs = np.stack([order[:-1][same], order[1:][same]], axis=1)
    pairs.sort(axis=1)
    earlier, later = pairs[np.argmin(pairs[:, 1])]
    row, _ = locate(int(later), key_name)
    earlier_row, _ = locate(int(earlier), key_name)
    label = device[later] if device_labels is None else device_labels[device[later]]
    raise InputFileError(path, f"duplicate read: device {label} at {key_name} = {key[later]:g} already "
                               f"read in row {earlier_row}", row=row, field=key_name)
