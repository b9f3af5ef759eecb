"""Programming-pulse traces: the canonical table the update-model fits consume, and its readers.

Canonical long layout, one row per read after a pulse:

==========  ======  ===========================================================
column      unit    meaning
==========  ======  ===========================================================
device      --      device identifier (integer code; labels kept aside)
ramp        --      ramp number: one run of identical pulses of one polarity
pulse       --      pulse index within the ramp (reads in order; 0 = before any)
polarity    --      SET (potentiation, +1) or RESET (depression, -1)
g           S       conductance read after the pulse
==========  ======  ===========================================================

Instead of ``g`` a file may give the read current ``i`` (A) and the read voltage ``v`` (V), per row or
as one constant for the whole file; the reader converts with G = I / V. A second, *wide* layout holds one ramp
per column (header = ramp name), one read per row, ragged columns ending early -- the layout of the real
pulse-train data in ``shared/data/pulse-trains`` (currents read at 0.1 V, one file per polarity).

Column mapping: the measurement stage's :class:`~devicelab.measurements.ColumnMapping` (names, units from
:data:`~devicelab.measurements.UNITS`, constants, CLI strings such as ``g=G_uS:uS`` or ``v=@0.1:V``) covers
``device``, ``g``, ``i`` and ``v``; :class:`PulseMapping` adds the ``ramp``, ``pulse`` and ``polarity``
columns. Units are converted to SI once, here; nothing downstream guesses a unit.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

import numpy as np

from devicelab.errors import ConfigError, InputFileError
from devicelab.files import sha256_file
from devicelab.measurements.mapping import ColumnMapping
from devicelab.measurements.textio import labels_to_codes, open_text
from devicelab.measurements.units import unit_for

SET, RESET = 1, -1
#: Canonical pulse-trace columns and their SI units ("1": dimensionless/labels).
PULSE_COLUMNS = {"device": "1", "ramp": "1", "pulse": "1", "polarity": "1", "g": "S", "i": "A", "v": "V"}
TRACE_COLUMNS = ("ramp", "pulse", "polarity")
MEASURED_COLUMNS = ("device", "g", "i", "v")
_POLARITY_NAMES = {"set": SET, "+1": SET, "1": SET, "reset": RESET, "-1": RESET}


@dataclass(frozen=True)
class PulseTable:
    """Validated pulse traces in SI units (see module docstring for the columns).

    Attributes
    ----------
    device, ramp, pulse : ndarray of int64
        Device code, ramp number and pulse index per read.
    polarity : ndarray of int8
        +1 (SET) or -1 (RESET) per read.
    g : ndarray of float64
        Conductance read after the pulse, S.
    device_labels : ndarray or None
        Original device identifiers, indexed by code.
    source : str
        Where the data came from (file path(s), or a description for generated data).
    """

    device: np.ndarray
    ramp: np.ndarray
    pulse: np.ndarray
    polarity: np.ndarray
    g: np.ndarray
    device_labels: np.ndarray | None = None
    source: str = "<memory>"
    sha256: str | None = field(default=None, compare=False)

    def __len__(self) -> int:
        return int(self.g.shape[0])

    @property
    def n_devices(self) -> int:
        """Number of distinct devices."""
        return int(np.unique(self.device).size)

    def select(self, mask) -> "PulseTable":
        """A new table holding only the reads where ``mask`` is True."""
        mask = np.asarray(mask, dtype=bool)
        return PulseTable(self.device[mask], self.ramp[mask], self.pulse[mask], self.polarity[mask], self.g[mask],
                          self.device_labels, self.source, self.sha256)

    def ramps(self):
        """Yield ``(device, polarity, ramp, pulse, g)`` per ramp, reads sorted by pulse index."""
        keys = np.stack([self.device, self.polarity.astype(np.int64), self.ramp])
        uniq, inverse = np.unique(keys, axis=1, return_inverse=True)
        inverse = inverse.ravel()
        for k in range(uniq.shape[1]):
            idx = np.flatnonzero(inverse == k)
            idx = idx[np.argsort(self.pulse[idx], kind="stable")]
            yield int(uniq[0, k]), int(uniq[1, k]), int(uniq[2, k]), self.pulse[idx], self.g[idx]

    def steps(self, polarity: int) -> dict[str, np.ndarray]:
        """Conductance steps between consecutive reads of each ramp of one ``polarity`` (SET or RESET).

        Returns a dict of equal-length arrays: ``g`` (S, before the pulse), ``dg`` (S, change caused by the
        pulse), ``n`` (pulses of this ramp applied before this one = pulse index of the read before it),
        ``first`` (True for the first step of each ramp), ``device``, ``ramp``.
        """
        out: dict[str, list[np.ndarray]] = {key: [] for key in ("g", "dg", "n", "first", "device", "ramp")}
        for device, pol, ramp, pulse, g in self.ramps():
            if pol != polarity or g.size < 2:
                continue
            consecutive = np.diff(pulse) == 1
            out["g"].append(g[:-1][consecutive])
            out["dg"].append(np.diff(g)[consecutive])
            out["n"].append(pulse[:-1][consecutive])
            out["first"].append(np.arange(consecutive.size)[consecutive] == 0)
            out["device"].append(np.full(consecutive.sum(), device))
            out["ramp"].append(np.full(consecutive.sum(), ramp))
        dtypes = {"g": float, "dg": float, "n": np.int64, "first": bool, "device": np.int64, "ramp": np.int64}
        return {k: (np.concatenate(v) if v else np.empty(0)).astype(dtypes[k]) for k, v in out.items()}


# --------------------------------------------------------------------------- column mapping
@dataclass(frozen=True)
class PulseMapping:
    """Column mapping of a pulse-trace file: the measurement mapping plus the three trace columns.

    ``quantities`` is a :class:`~devicelab.measurements.ColumnMapping` for ``device``, ``g`` (S), ``i`` (A) and
    ``v`` (read voltage, V): header names or field indices, units, constants (e.g. ``v=@0.1:V``), delimiter
    and header options -- the same machinery and strings as the fit stage. ``trace`` maps ``ramp``,
    ``pulse`` and ``polarity`` to header names or field indices (default: their own names).
    """

    quantities: ColumnMapping = field(default_factory=ColumnMapping)
    trace: Mapping[str, str | int] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "trace", MappingProxyType(dict(self.trace)))
        unknown = set(self.trace) - set(TRACE_COLUMNS)
        foreign = set(self.quantities.columns) | set(self.quantities.constants)
        foreign -= set(MEASURED_COLUMNS)
        if unknown or foreign:
            raise ConfigError(f"pulse mapping: unknown columns {sorted(unknown | foreign)} (pulse files have "
                              f"{', '.join(TRACE_COLUMNS + MEASURED_COLUMNS)})")
        if self.quantities.layout != "long":
            raise ConfigError("pulse mapping: long files only; use read_pulse_ramps_wide for one ramp per column")

    @classmethod
    def from_cli(cls, items) -> "PulseMapping":
        """Build from ``KEY=VALUE`` strings as :meth:`ColumnMapping.from_cli` (``g=G_uS:uS``, ``v=@0.1:V``),
        plus ``ramp=``, ``pulse=``, ``polarity=`` (header name or 0-based field index)."""
        items = [items] if isinstance(items, str) else list(items)
        trace, rest = {}, []
        for item in items:
            key, _, value = str(item).partition("=")
            if key.strip() in TRACE_COLUMNS:
                value = value.strip()
                trace[key.strip()] = int(value) if value.isdigit() else value
            else:
                rest.append(item)
        return cls(ColumnMapping.from_cli(rest), trace)


def unit_factor(quantity: str, unit: str | None) -> float:
    """Factor converting a value of ``quantity`` ("g", "i", "v") given in ``unit`` to SI (None: SI)."""
    try:
        return float(unit_for(quantity, unit).to_si(np.asarray(1.0)))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


# --------------------------------------------------------------------------- readers
def _read_rows(path: Path) -> list[list[str]]:
    if not path.is_file():
        raise InputFileError(path, "file not found")
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = [row for row in csv.reader(fh)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputFileError(path, f"cannot read as CSV ({exc})") from exc
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise InputFileError(path, "expected a header line and at least one data row")
    return rows


def _number(path, text: str, row: int, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputFileError(path, f"expected a number, found {text!r}", row=row, field=name) from None
    if not np.isfinite(value):
        raise InputFileError(path, f"expected a finite number, found {text!r}", row=row, field=name)
    return value


def _polarity(path, text: str, row: int, name: str) -> int:
    try:
        return _POLARITY_NAMES[text.strip().lower()]
    except KeyError:
        raise InputFileError(path, f"expected SET or RESET (or +1/-1), found {text!r}", row=row, field=name) from None


def _first_bad(path, bad: np.ndarray, message: str, field_name: str):
    idx = np.flatnonzero(bad)
    if idx.size:
        raise InputFileError(path, message, row=int(idx[0]) + 1, field=field_name)


def read_pulse_table(path, mapping: PulseMapping | None = None, *, polarity: str | int | None = None) -> PulseTable:
    """Read a long-layout pulse-trace file (CSV/TSV, optionally .gz; one row per read) into a :class:`PulseTable`.

    Parameters
    ----------
    path : path-like
        Text file with a header line (see :class:`PulseMapping` for foreign names and units).
    mapping : PulseMapping, optional
        Column names, units and constants (e.g. a fixed read voltage ``v=@0.1:V``).
    polarity : "SET" or "RESET", optional
        Polarity of every row, for files without a ``polarity`` column.

    Conductance comes from ``g`` or, when the file has no ``g``, from G = I / V with ``i`` and ``v``.
    Raises :class:`InputFileError` naming file, 1-based data row and field on any invalid value.
    """
    mapping = PulseMapping() if mapping is None else mapping
    qm = mapping.quantities
    tf = open_text(path, qm.delimiter, qm.header)
    path = tf.path

    def locate(column, source, required):
        if isinstance(source, int):
            return source
        if tf.names is not None and source in tf.names:
            return tf.names.index(source)
        if required:
            have = f"header has: {', '.join(tf.names)}" if tf.names is not None else "file has no header"
            raise InputFileError(path, f"missing column {source!r} (for '{column}'); {have}", field=str(source))
        return None

    def name_of(index, column):
        return tf.names[index] if tf.names is not None and index < len(tf.names) else f"{column} (field {index + 1})"

    where = {c: locate(c, mapping.trace.get(c, c), c in mapping.trace or c != "polarity" or polarity is None)
             for c in TRACE_COLUMNS}
    for c in MEASURED_COLUMNS:
        if c not in qm.constants:
            where[c] = locate(c, qm.columns.get(c, c), c in qm.columns)
    if where.get("g") is None and "g" not in qm.constants:
        missing = [c for c in ("i", "v") if where.get(c) is None and c not in qm.constants]
        if missing:
            raise InputFileError(path, f"need a conductance column 'g', or read current 'i' and read voltage 'v' "
                                       f"(missing: {', '.join(missing)}; header: {tf.names})")
    numeric = [c for c in ("ramp", "pulse", "g", "i", "v") if where.get(c) is not None]
    if where.get("g") is not None:
        numeric = [c for c in numeric if c not in ("i", "v")]
    data = tf.parse([where[c] for c in numeric], [name_of(where[c], c) for c in numeric])
    n_rows = data.shape[0]
    col = {c: data[:, k] for k, c in enumerate(numeric)}
    for c in ("ramp", "pulse"):
        _first_bad(path, (col[c] != np.round(col[c])) | (col[c] < 0), "expected a non-negative integer",
                   name_of(where[c], c))
    texts = {}
    for c in ("polarity", "device"):
        if where.get(c) is not None:
            texts[c] = tf.parse([where[c]], [name_of(where[c], c)], dtype=str)[:, 0]
    if "polarity" in texts:
        field_name = name_of(where["polarity"], "polarity")
        pol = np.array([_polarity(path, t, k + 1, field_name) for k, t in enumerate(texts["polarity"])], np.int8)
    else:
        pol = np.full(n_rows, _polarity(path, str(polarity), 1, "polarity"), dtype=np.int8)
    device = texts.get("device", np.full(n_rows, str(qm.constants.get("device", "0"))))

    def si(c):
        raw = np.full(n_rows, float(qm.constants[c])) if c in qm.constants else col[c]
        return qm.unit(c).to_si(raw)

    if where.get("g") is not None or "g" in qm.constants:
        g = si("g")
        g_field = name_of(where["g"], "g") if where.get("g") is not None else "g"
    else:
        current, voltage = si("i"), si("v")
        v_field = name_of(where["v"], "v") if where.get("v") is not None else "v"
        _first_bad(path, voltage == 0, "read voltage is 0 V; cannot convert current to conductance", v_field)
        g = current / voltage
        g_field = name_of(where["i"], "i") if where.get("i") is not None else "i"
    _first_bad(path, ~np.isfinite(g), "conductance is not finite", g_field)
    _first_bad(path, g < 0, "conductance must be >= 0 S", g_field)
    codes, labels = labels_to_codes(device)
    return PulseTable(codes, col["ramp"].astype(np.int64), col["pulse"].astype(np.int64), pol, g.astype(float),
                      labels, str(path), tf.sha256)


def read_pulse_ramps_wide(path, polarity: str | int, *, quantity: str = "i", unit: str | None = "A",
                          v_read: float | None = 0.1, device: str = "0", first_pulse: int = 1) -> PulseTable:
    """Read a wide pulse-trace CSV: one ramp per column, one read per row, ragged columns may end early.

    Parameters
    ----------
    path : path-like
        CSV whose header names the ramps (e.g. ``rmp1..rmp39``); ramp numbers are the trailing digits of the
        header names, or the column position (1-based) when a name has none.
    polarity : "SET" or "RESET" (or +1 / -1)
        Polarity of every pulse in the file.
    quantity : "i" or "g"
        What the cells hold: read current (converted with ``v_read``) or conductance.
    unit : str or None
        Unit of the cells (None: SI).
    v_read : float
        Read voltage, V, for ``quantity="i"``.
    device : str
        Device label (the wide layout holds one device).
    first_pulse : int
        Pulse index of the first data row (1: the first row is read after the first pulse).

    An empty cell followed by a value in the same column is an error (a ramp cannot resume).
    """

    path = Path(path)
    if quantity not in ("i", "g"):
        raise ConfigError(f"wide pulse layout: quantity must be 'i' or 'g', got {quantity!r}")
    unit_factor(quantity, unit)  # validates the unit
    if quantity == "i" and (v_read is None or v_read == 0 or not np.isfinite(v_read)):
        raise ConfigError(f"wide pulse layout with currents needs a finite non-zero v_read (V), got {v_read!r}")
    pol = _polarity(path, str(polarity), 1, "polarity")
    rows = _read_rows(path)
    header = [h.strip() for h in rows[0]]
    ramps, pulses, values = [], [], []
    for j, name in enumerate(header):
        m = re.search(r"(\d+)$", name)
        ramp_no = int(m.group(1)) if m else j + 1
        ended_at = None
        for r, line in enumerate(rows[1:], start=1):
            text = line[j].strip() if j < len(line) else ""
            if not text:
                ended_at = ended_at or r
                continue
            if ended_at is not None:
                raise InputFileError(path, f"value after an empty cell (row {ended_at}); a ramp cannot resume",
                                     row=r, field=name)
            value = _number(path, text, r, name)
            if value < 0:
                raise InputFileError(path, f"expected a non-negative {quantity}, found {value}", row=r, field=name)
            ramps.append(ramp_no)
            pulses.append(first_pulse + r - 1)
            values.append(value)
        if ended_at == 1:
            raise InputFileError(path, "ramp column holds no values", field=name)
    if len(set(header)) != len(header):
        raise InputFileError(path, "duplicate ramp names in the header")
    si = np.asarray(values) * unit_factor(quantity, unit)
    g = si / v_read if quantity == "i" and v_read is not None else si  # v_read checked above for currents
    n = g.size
    return PulseTable(np.zeros(n, np.int64), np.asarray(ramps, np.int64), np.asarray(pulses, np.int64),
                      np.full(n, pol, np.int8), g, np.asarray([device]), str(path), sha256_file(path))


def concat_pulse_tables(tables: list[PulseTable], source: str | None = None) -> PulseTable:
    """Join tables (e.g. the SET and RESET files of one device); device labels are merged by name."""
    labels = np.unique(np.concatenate([t.device_labels if t.device_labels is not None
                                       else np.unique(t.device).astype(str) for t in tables]))
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("device", "ramp", "pulse", "polarity", "g")}
    for t in tables:
        own = t.device_labels if t.device_labels is not None else np.unique(t.device).astype(str)
        parts["device"].append(np.searchsorted(labels, own[t.device]))
        for k in ("ramp", "pulse", "polarity", "g"):
            parts[k].append(getattr(t, k))
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    return PulseTable(cat["device"].astype(np.int64), cat["ramp"], cat["pulse"], cat["polarity"].astype(np.int8),
                      cat["g"], labels, source or " + ".join(t.source for t in tables))


def read_pulse_trains(folder, *, v_read: float = 0.1, unit: str = "A") -> PulseTable:
    """Read the ``set.csv`` / ``reset.csv`` pair of a pulse-train folder (wide layout, read currents).

    This is the layout of ``shared/data/pulse-trains``: currents in A read at ``v_read`` = 0.1 V,
    one ramp per column, SET ramp k followed by RESET ramp k on the same device.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputFileError(folder, "pulse-train folder not found")
    tables = [read_pulse_ramps_wide(folder / "set.csv", "SET", unit=unit, v_read=v_read),
              read_pulse_ramps_wide(folder / "reset.csv", "RESET", unit=unit, v_read=v_read)]
    return concat_pulse_tables(tables, source=str(folder))
