"""Read and write measurement files: CSV/TSV (optionally .gz) and devicelab "measurements" HDF5.

Text files: a header line with column names (canonical names, or any names given a
:class:`~devicelab.measurements.ColumnMapping`), one read per line. HDF5 files (format
``devicelab-measurements``, version 1): one 1-D dataset per canonical column with a ``units`` attribute
(device codes in ``device`` and the original ids in ``device_labels``), and the standard header attributes
of :mod:`devicelab.files`. Every reader converts to SI units and validates (:mod:`.validate`); every writer
writes atomically, so a failed write never leaves a partial file.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from devicelab.errors import ConfigError, InputFileError, ModelFileError
from devicelab.files import atomic_output, check_header, sha256_file, write_dataset, write_header
from devicelab.measurements.mapping import ColumnMapping
from devicelab.measurements.table import COLUMNS, IV_COLUMNS, IV_REQUIRED, REQUIRED, IVTable, MeasurementTable
from devicelab.measurements.textio import TextFile, labels_to_codes, open_text
from devicelab.measurements.units import unit_for
from devicelab.measurements.validate import check_duplicates, invalid_mask, long_locator

HDF5_FORMAT = "devicelab-measurements"
HDF5_VERSION = 1
_HDF5_SUFFIXES = (".h5", ".hdf5")
_TEXT_DELIMITERS = {".csv": ",", ".tsv": "\t"}


def _is_hdf5(path: Path) -> bool:
    if path.suffix.lower() in _HDF5_SUFFIXES:
        return True
    try:
        with open(path, "rb") as fh:
            return fh.read(8) == b"\x89HDF\r\n\x1a\n"
    except OSError:
        return False


# --------------------------------------------------------------------------------------------- reading
def read_measurements(path, mapping: ColumnMapping | None = None) -> MeasurementTable:
    """Read a measurement file into a validated :class:`MeasurementTable` (SI units).

    ``path`` is CSV/TSV (optionally gzip-compressed) or devicelab HDF5; ``mapping`` describes foreign
    column names, units, constants and the wide time-series layout (None: canonical file).
    Raises :class:`InputFileError` naming file, 1-based data row and field for every invalid input.
    """
    path = Path(path)
    mapping = ColumnMapping() if mapping is None else mapping
    if _is_hdf5(path):
        return _read_hdf5(path, mapping)
    if mapping.layout == "wide":
        return _read_wide(path, mapping)
    tf = open_text(path, mapping.delimiter, mapping.header)
    codes, labels, values = _read_long_columns(tf, mapping, COLUMNS, REQUIRED)
    return _measurement_table(path, tf.sha256, codes, labels, values, mapping.invalid_rows == "drop")


def read_iv(path, mapping: ColumnMapping | None = None) -> IVTable:
    """Read I-V sweeps (columns ``device``, ``v`` in V, ``i`` in A, optional ``g_target`` in S) from CSV/TSV.

    The same mapping machinery as :func:`read_measurements` applies (names, units such as mV or uA).
    """
    path = Path(path)
    mapping = ColumnMapping() if mapping is None else mapping
    if mapping.layout != "long":
        raise ConfigError(f"{path}: I-V files use the long layout (one point per line); the mapping says "
                          f"layout = {mapping.layout!r}")
    tf = open_text(path, mapping.delimiter, mapping.header)
    codes, labels, values = _read_long_columns(tf, mapping, IV_COLUMNS, IV_REQUIRED)
    bad = invalid_mask(path, values, long_locator(), mapping.invalid_rows == "drop")
    keep = ~bad
    return IVTable(device=codes[keep], v=values["v"][keep], i=values["i"][keep],
                   g_target=values["g_target"][keep] if "g_target" in values else None,
                   device_labels=labels, source=str(path), sha256=tf.sha256)


def _read_long_columns(tf: TextFile, mapping: ColumnMapping, spec: dict, required) -> tuple:
    """Device codes, device labels and SI float columns of a long-layout text file."""
    path = tf.path
    foreign = [c for c in (*mapping.columns, *mapping.constants) if c not in spec]
    if foreign:
        raise InputFileError(path, f"mapping names columns {foreign} that this kind of file does not have "
                                   f"(columns: {', '.join(spec)})")
    where: dict[str, int] = {}
    constants: dict[str, float] = {}
    for column in spec:
        if column in mapping.constants:
            constants[column] = mapping.constants[column]
            continue
        source = mapping.columns.get(column, column)
        if isinstance(source, int):
            where[column] = source
        elif tf.names is not None and source in tf.names:
            where[column] = tf.names.index(source)
        elif column in mapping.columns or column in required:
            have = f"header has: {', '.join(tf.names)}" if tf.names is not None else "file has no header"
            raise InputFileError(path, f"missing column {source!r}" +
                                 (f" (mapped to '{column}')" if source != column else "") + f"; {have}",
                                 field=str(source))
    n_rows: int | None = None
    numeric = [c for c in where if c != "device"]
    values: dict[str, np.ndarray] = {}
    # Fast path: numeric device ids parse with the other columns in one pass.
    data = tf.try_parse([where[c] for c in (*numeric, "device") if c in where])
    if data is None and numeric:
        data = tf.parse([where[c] for c in numeric], [_field_name(tf, where[c], c) for c in numeric])
    if data is not None:
        values = {c: data[:, k] for k, c in enumerate(numeric)}
        n_rows = data.shape[0]
    if "device" in where and data is not None and data.shape[1] == len(numeric) + 1:
        finite = np.isfinite(data[:, -1])
        if not finite.all():
            raise InputFileError(path, "device id is NaN or infinite", row=int(np.argmin(finite)) + 1,
                                 field=_field_name(tf, where["device"], "device"))
        codes, labels = labels_to_codes(data[:, -1])
    elif "device" in where:
        raw = tf.parse([where["device"]], [_field_name(tf, where["device"], "device")], dtype=str)[:, 0]
        n_rows = raw.size
        empty = np.flatnonzero(raw == "")
        if empty.size:
            raise InputFileError(path, "empty device id", row=int(empty[0]) + 1,
                                 field=_field_name(tf, where["device"], "device"))
        codes, labels = labels_to_codes(raw)
    else:
        if n_rows is None:
            raise InputFileError(path, "the mapping reads no column of the file (every column is a constant)")
        codes, labels = labels_to_codes(np.full(n_rows, constants.pop("device")))
    for column, value in constants.items():
        values[column] = np.full(codes.size, float(value))
    return codes, labels, _to_si(values, mapping)


def _field_name(tf: TextFile, index: int, column: str) -> str:
    """How a source field is named in messages: its header name, else the canonical column and index."""
    if tf.names is not None and index < len(tf.names):
        return tf.names[index]
    return f"{column} (field {index + 1})"


def _to_si(values: dict[str, np.ndarray], mapping: ColumnMapping) -> dict[str, np.ndarray]:
    out = {}
    for column, raw in values.items():
        if column == "g_target" and mapping.level_step is not None:
            raw = mapping.level_offset + mapping.level_step * raw
        out[column] = mapping.unit(column).to_si(raw)
    return out


def _measurement_table(path, sha256, codes, labels, values, drop, locate=None) -> MeasurementTable:
    """Validate SI columns of reads, drop or reject invalid ones, reject duplicates, build the table."""
    locate = long_locator() if locate is None else locate
    bad = invalid_mask(path, values, locate, drop)
    if bad.any():
        kept = np.flatnonzero(~bad)
        codes = codes[kept]
        values = {k: v[kept] for k, v in values.items()}

        def locate_in_file(i, column, within=locate):  # rows as in the file
            return within(int(kept[i]), column)

        locate = locate_in_file
    check_duplicates(path, codes, values["t"], "t", locate, labels)
    return MeasurementTable(
        device=codes, g_target=values["g_target"], t=values["t"], g=values["g"],
        temperature=values.get("temperature"), device_labels=labels, source=str(path), sha256=sha256,
        n_dropped=int(bad.sum()),
    )


def _read_wide(path: Path, mapping: ColumnMapping) -> MeasurementTable:
    """One device per line: leading id/level fields, then conductance samples at mapping.fs Hz."""
    tf = open_text(path, mapping.delimiter, mapping.header)
    lines = [line for line in tf.lines if line.strip() and not line.lstrip().startswith("#")]
    counts = np.array([len(tf.split(line)) for line in lines])  # one entry per device, not per sample
    n_fields = int(counts[0])
    if np.any(counts != n_fields):
        row = int(np.argmax(counts != n_fields)) + 1
        raise InputFileError(path, f"line has {counts[row - 1]} fields, the first data line has {n_fields}", row=row)
    first, fs = mapping.first_sample, mapping.fs
    if first is None or fs is None:  # ColumnMapping validation requires both for the wide layout
        raise ConfigError(f"{path}: the wide layout needs first_sample and fs in the mapping")
    index: dict[str, int] = {}
    for column, source in mapping.columns.items():
        if not isinstance(source, int):  # also rejected by ColumnMapping validation
            raise ConfigError(f"{path}: the wide layout maps columns to field indices, got {column}={source!r}")
        index[column] = source
    if n_fields <= first:
        raise InputFileError(path, f"lines have {n_fields} fields, no samples from field {first + 1} on")
    names = [f"field {k + 1}" for k in range(first)] + [f"g sample {k}" for k in range(n_fields - first)]
    data = tf.parse(list(range(n_fields)), names)
    n_dev, n_samples = data.shape[0], n_fields - first
    if "device" in mapping.columns:
        codes, labels = labels_to_codes(data[:, index["device"]])
    else:
        codes, labels = np.arange(n_dev, dtype=np.int64), np.arange(n_dev, dtype=np.int64)
    per_device = {c: data[:, idx] for c, idx in index.items() if c != "device"}
    per_device.update({c: np.full(n_dev, float(v)) for c, v in mapping.constants.items() if c != "device"})
    if "g_target" not in per_device:
        raise InputFileError(path, "wide layout needs 'g_target' as a leading field index or a constant",
                             field="g_target")
    per_device = _to_si(per_device, mapping)
    invalid_mask(path, per_device, lambda i, c: (i + 1, f"{c} (field {mapping.columns.get(c, '?')})"), False)
    check_duplicates(path, codes, np.zeros(n_dev), "t", lambda i, c: (i + 1, "device"), labels)
    values = {c: np.repeat(v, n_samples) for c, v in per_device.items()}
    values["t"] = np.tile(np.arange(n_samples, dtype=float) / fs, n_dev)
    values["g"] = mapping.unit("g").to_si(data[:, first:]).reshape(-1)

    def locate(i: int, column: str) -> tuple[int, str]:
        return i // n_samples + 1, f"{column} sample {i % n_samples} (field {first + i % n_samples + 1})"

    return _measurement_table(path, tf.sha256, np.repeat(codes, n_samples), labels, values,
                              mapping.invalid_rows == "drop", locate)


def _read_hdf5(path: Path, mapping: ColumnMapping) -> MeasurementTable:
    """Read a devicelab measurements HDF5 file; units come from each dataset's ``units`` attribute."""
    import h5py

    if mapping.units or mapping.level_step is not None or mapping.layout != "long" or \
            any(not isinstance(source, str) for source in mapping.columns.values()):
        raise ConfigError(f"{path}: HDF5 datasets carry their own units; a mapping for HDF5 may only rename "
                          "datasets ([columns], by name) and add constants")
    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise InputFileError(path, f"not a readable HDF5 file (truncated or corrupt?): {exc}") from exc
    with fh:
        try:
            check_header(fh, path, HDF5_FORMAT, (HDF5_VERSION,))
        except ModelFileError as exc:
            raise InputFileError(path, str(exc).removeprefix(f"{path}: ")) from exc
        sources = {c: s for c, s in mapping.columns.items() if isinstance(s, str)}  # all, checked above
        raw: dict[str, np.ndarray] = {}
        for column in (*COLUMNS, "device_labels"):
            name = sources.get(column, column)
            if column in mapping.constants:
                continue
            if name not in fh:
                if column in REQUIRED:
                    raise InputFileError(path, f"missing dataset {name!r}; file has: {', '.join(fh)}", field=name)
                continue
            raw[column] = _read_dataset(path, fh[name], column, name)
    n = raw["g"].size
    if any(v.ndim != 1 or (k != "device_labels" and v.size != n) for k, v in raw.items()):
        raise InputFileError(path, f"datasets must be 1-D and of equal length ({n} reads in 'g')")
    labels = raw.pop("device_labels", None)
    device = raw.pop("device")
    if labels is not None and device.dtype.kind in "iu":
        if device.size and (device.min() < 0 or device.max() >= labels.size):
            raise InputFileError(path, f"device codes must index 'device_labels' (0..{labels.size - 1})",
                                 field="device")
        codes = device.astype(np.int64)
    else:
        codes, labels = labels_to_codes(device)
    values = {c: v.astype(float) for c, v in raw.items()}
    values.update({c: np.full(n, mapping.unit(c).to_si(float(v))) for c, v in mapping.constants.items()})
    return _measurement_table(path, sha256_file(path), codes, labels, values, mapping.invalid_rows == "drop")


def _read_dataset(path, ds, column: str, name: str) -> np.ndarray:
    """Dataset values, converted to SI by its ``units`` attribute (labels are returned as they are)."""
    try:
        data = ds[()]
    except (OSError, RuntimeError) as exc:
        raise InputFileError(path, f"cannot read dataset (corrupt file?): {exc}", field=name) from exc
    if column == "device_labels" or data.dtype.kind in "SO":
        return data.astype(str) if data.dtype.kind in "SO" else data
    units = ds.attrs.get("units")
    units = units.decode() if isinstance(units, bytes) else units
    if units is None:
        raise InputFileError(path, "dataset has no 'units' attribute", field=name)
    try:
        unit = unit_for(column, units)
    except ValueError as exc:
        raise InputFileError(path, str(exc), field=name) from exc
    return data if column == "device" else unit.to_si(data)


# --------------------------------------------------------------------------------------------- writing
def write_measurements(table: MeasurementTable, path, *, digits: int = 17) -> Path:
    """Write ``table`` atomically as CSV/TSV (optionally .gz) or HDF5, chosen by the file name.

    Text files get a header of canonical names and SI values with ``digits`` significant digits (17
    round-trips float64 exactly). Raises :class:`ConfigError` for an unknown extension or invalid data
    (NaN, negative times, ...); nothing is written then.
    """
    path = Path(path)
    values = {"g_target": table.g_target, "t": table.t, "g": table.g}
    if table.temperature is not None:
        values["temperature"] = table.temperature
    try:
        invalid_mask(path, values, long_locator(), drop=False)
        check_duplicates(path, table.device, table.t, "t", long_locator(), table.device_labels)
    except InputFileError as exc:
        raise ConfigError(f"refusing to write invalid measurements to {path}: {exc.detail} "
                          f"(read {exc.row}, column '{exc.field}')") from exc
    if path.suffix.lower() in _HDF5_SUFFIXES:
        return _write_hdf5(table, path)
    labels = table.device if table.device_labels is None else np.asarray(table.device_labels)[table.device]
    return _write_text(path, {"device": labels, **values}, digits)


def write_iv(table: IVTable, path, *, digits: int = 17) -> Path:
    """Write I-V sweeps atomically as CSV/TSV (optionally .gz): columns device, v (V), i (A)[, g_target (S)]."""
    path = Path(path)
    columns = {"v": table.v, "i": table.i}
    if table.g_target is not None:
        columns["g_target"] = table.g_target
    for name, values in columns.items():
        if not np.all(np.isfinite(values)):
            raise ConfigError(f"refusing to write I-V data to {path}: column '{name}' has NaN or infinite values")
    labels = table.device if table.device_labels is None else np.asarray(table.device_labels)[table.device]
    return _write_text(path, {"device": labels, **columns}, digits)


def _text_delimiter(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    if not suffixes or suffixes[-1] not in _TEXT_DELIMITERS:
        raise ConfigError(f"cannot tell the format of {path}: use .csv, .tsv (optionally .gz), .h5 or .hdf5")
    return _TEXT_DELIMITERS[suffixes[-1]]


def _write_text(path: Path, columns: dict[str, np.ndarray], digits: int) -> Path:
    delimiter = _text_delimiter(path)
    labels = np.asarray(columns["device"])
    if labels.dtype.kind in "US" and any(delimiter in str(x) or '"' in str(x) for x in np.unique(labels)):
        raise ConfigError(f"device labels contain the delimiter {delimiter!r} or quotes; cannot write {path}")
    number = f"%.{int(digits)}g"
    row_format = delimiter.join(["%s"] + [number] * (len(columns) - 1))
    rows = zip(*(c.tolist() for c in columns.values()))
    text = delimiter.join(columns) + "\n" + "".join(row_format % row + "\n" for row in rows)
    data = text.encode("utf-8")
    if path.suffix.lower() == ".gz":
        data = gzip.compress(data, compresslevel=9, mtime=0)  # mtime 0: same data -> same bytes
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)
    return path


def _write_hdf5(table: MeasurementTable, path: Path) -> Path:
    import h5py

    provenance = {"source": table.source, "source_sha256": table.sha256, "n_dropped": table.n_dropped}
    with atomic_output(path, suffix=".h5") as tmp:
        with h5py.File(tmp, "w") as fh:
            write_header(fh, HDF5_FORMAT, HDF5_VERSION, provenance)
            write_dataset(fh, "device", np.asarray(table.device, dtype=np.int64), "1")
            labels: np.ndarray = np.arange(int(table.device.max()) + 1 if len(table) else 0, dtype=np.int64) \
                if table.device_labels is None else np.asarray(table.device_labels)
            if labels.dtype.kind == "U":
                labels = np.char.encode(labels, "utf-8")
            write_dataset(fh, "device_labels", labels, "1")
            for column in ("g_target", "t", "g", "temperature"):
                values = getattr(table, column)
                if values is not None:
                    write_dataset(fh, column, np.asarray(values, dtype=np.float64), COLUMNS[column])
    return path
