"""How a foreign measurement file's columns and units map onto the canonical columns.

A :class:`ColumnMapping` says, per canonical column (``device``, ``g_target``, ``t``, ``g``, ``temperature``
for measurement tables; ``device``, ``v``, ``i``, ``g_target`` for I-V sweeps), where the values are
(a header name or a 0-based field index, or a constant) and in which unit (see
:mod:`devicelab.measurements.units`). Canonical columns it does not mention are looked up by their
canonical name in the header, in SI units, so ``ColumnMapping()`` reads canonical files.

Two layouts:

- ``long``: one read per line (the canonical layout).
- ``wide``: one device per line, for read-noise time series. Fields before ``first_sample`` are ids/levels
  (map ``device`` and ``g_target`` to their indices; by default the device is the 0-based line number),
  the rest are conductance samples (unit of ``g``) taken at ``fs`` Hz, so sample k is read at t = k / fs.

A level index can stand in for the target conductance: with ``level_step`` set, the ``g_target`` source
holds level numbers and g_target = level_offset + level_step * level, in the unit of ``g_target``.

TOML form (``ColumnMapping.from_toml``)::

    layout = "long"          # or "wide"
    delimiter = ","          # "\\t", ",", ";", "whitespace"; default: from the file name, else sniffed
    header = true
    invalid_rows = "error"   # or "drop": drop reads with NaN/negative/absurd values instead of failing
    [columns]                # canonical = header name or 0-based field index
    g = "G_uS"
    t = "time_min"
    device = "cell"
    [units]
    g = "uS"
    t = "min"
    [constants]              # fixed values, in the column's unit
    temperature = 300.0
    [level]                  # optional: g_target from a level index
    step = 1.25e-6
    offset = 0.0
    [wide]                   # layout = "wide" only
    fs = 400.0
    first_sample = 2
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from devicelab.errors import ConfigError, InputFileError
from devicelab.measurements.units import QUANTITY, unit_for

_DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "whitespace": "whitespace"}
_TOML_KEYS = {"layout", "delimiter", "header", "invalid_rows", "columns", "units", "constants", "level", "wide"}


@dataclass(frozen=True)
class ColumnMapping:
    """Column/unit mapping of a measurement file (see module docstring).

    Attributes
    ----------
    columns : mapping of str to (str or int)
        Canonical column -> header name or 0-based field index.
    units : mapping of str to str
        Canonical column -> unit of its values in the file (default: SI).
    constants : mapping of str to float
        Canonical column -> fixed value for every row, in the column's unit (e.g. a bake temperature).
    delimiter : str or None
        Field delimiter; "whitespace" for runs of blanks; None: by file extension (.csv ",", .tsv "\\t"),
        else sniffed from the first line.
    header : bool
        Whether the first non-comment line holds column names.
    level_step, level_offset : float or None, float
        g_target = level_offset + level_step * level, in the unit of g_target, when level_step is set.
    invalid_rows : str
        "error" (default) or "drop": reads with NaN, negative or absurd values are dropped and counted.
    layout : str
        "long" or "wide".
    fs : float or None
        Wide layout: sample rate, Hz.
    first_sample : int or None
        Wide layout: 0-based field index of the first conductance sample.
    """

    columns: Mapping[str, str | int] = field(default_factory=dict)
    units: Mapping[str, str] = field(default_factory=dict)
    constants: Mapping[str, float] = field(default_factory=dict)
    delimiter: str | None = None
    header: bool = True
    level_step: float | None = None
    level_offset: float = 0.0
    invalid_rows: str = "error"
    layout: str = "long"
    fs: float | None = None
    first_sample: int | None = None

    def __post_init__(self):
        for name in ("columns", "units", "constants"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))
        if self.delimiter is not None:
            object.__setattr__(self, "delimiter", _DELIMITER_NAMES.get(self.delimiter, self.delimiter))
        problems = self._problems()
        if problems:
            raise ConfigError("column mapping: " + "; ".join(problems))

    def _problems(self) -> list[str]:
        out = []
        number, none = (int, float), type(None)
        types = (("header", bool, "bool"), ("delimiter", (str, none), "a string"), ("invalid_rows", str, "a string"),
                 ("layout", str, "a string"), ("fs", (*number, none), "a number"),
                 ("level_step", (*number, none), "a number"), ("level_offset", number, "a number"))
        wrong = [f"'{name}' must be {what}, got {getattr(self, name)!r}" for name, kind, what in types
                 if not isinstance(getattr(self, name), kind)
                 or (kind is not bool and isinstance(getattr(self, name), bool))]
        if wrong:
            return wrong
        for kind, names in (("columns", self.columns), ("units", self.units), ("constants", self.constants)):
            out += [f"unknown canonical column {c!r} in {kind} (known: {', '.join(QUANTITY)})"
                    for c in names if c not in QUANTITY]
        for column, source in self.columns.items():
            if isinstance(source, bool) or not isinstance(source, (str, int)) or source == "" \
                    or (isinstance(source, int) and source < 0):
                out.append(f"source of '{column}' must be a header name or a field index >= 0, got {source!r}")
            elif isinstance(source, str) and not self.header and self.layout == "long":
                out.append(f"'{column}' is mapped to name {source!r} but the mapping says the file has no header")
        for column in set(self.columns) & set(self.constants):
            out.append(f"'{column}' is given both as a column and as a constant")
        for column, value in self.constants.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                out.append(f"constant for '{column}' must be a finite number, got {value!r}")
        for column, unit in self.units.items():
            if column in QUANTITY:
                try:
                    unit_for(column, unit)
                except ValueError as exc:
                    out.append(str(exc))
        if self.delimiter is not None and (len(self.delimiter) != 1 and self.delimiter != "whitespace"):
            out.append(f"delimiter must be one character or 'whitespace', got {self.delimiter!r}")
        if self.level_step is not None and not (math.isfinite(self.level_step) and self.level_step > 0):
            out.append(f"level step must be finite and > 0, got {self.level_step}")
        if not math.isfinite(self.level_offset):
            out.append(f"level offset must be finite, got {self.level_offset}")
        if self.invalid_rows not in ("error", "drop"):
            out.append(f"invalid_rows must be 'error' or 'drop', got {self.invalid_rows!r}")
        if self.layout not in ("long", "wide"):
            out.append(f"layout must be 'long' or 'wide', got {self.layout!r}")
        if self.layout == "wide":
            if self.fs is None or not (math.isfinite(self.fs) and self.fs > 0):
                out.append(f"wide layout needs a sample rate fs > 0 Hz, got {self.fs}")
            if self.first_sample is None or isinstance(self.first_sample, bool) or \
                    not isinstance(self.first_sample, int) or self.first_sample < 0:
                out.append(f"wide layout needs first_sample, a field index >= 0, got {self.first_sample!r}")
            for column, source in self.columns.items():
                if column not in ("device", "g_target") or not isinstance(source, int):
                    out.append(f"wide layout maps only 'device' and 'g_target' to leading field indices, "
                               f"got {column}={source!r}")
                elif self.first_sample is not None and isinstance(source, int) and source >= self.first_sample:
                    out.append(f"'{column}' field {source} is not before first_sample {self.first_sample}")
        elif self.fs is not None or self.first_sample is not None:
            out.append("fs and first_sample are only meaningful with layout = 'wide'")
        return out

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_toml(cls, path) -> "ColumnMapping":
        """Load a mapping from a TOML file (format in the module docstring).

        Raises :class:`InputFileError` naming the file and key for unreadable TOML, unknown keys,
        unknown columns or units.
        """
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise InputFileError(path, f"cannot read mapping file ({exc.strerror or exc})") from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputFileError(path, f"not valid TOML ({exc})") from exc
        unknown = set(data) - _TOML_KEYS
        if unknown:
            raise InputFileError(path, f"unknown keys {sorted(unknown)} (known: {', '.join(sorted(_TOML_KEYS))})")
        kwargs: dict = {k: data[k] for k in ("layout", "delimiter", "header", "invalid_rows") if k in data}
        for table in ("columns", "units", "constants", "level", "wide"):
            if table in data and not isinstance(data[table], dict):
                raise InputFileError(path, f"'{table}' must be a table ([{table}])", field=table)
        kwargs.update({k: data[k] for k in ("columns", "units", "constants") if k in data})
        for table, keys in (("level", {"step": "level_step", "offset": "level_offset"}),
                            ("wide", {"fs": "fs", "first_sample": "first_sample"})):
            section = data.get(table, {})
            extra = set(section) - set(keys)
            if extra:
                raise InputFileError(path, f"unknown keys {sorted(extra)} in [{table}] (known: {', '.join(keys)})",
                                     field=table)
            kwargs.update({keys[k]: v for k, v in section.items()})
        for key in ("fs", "level_step", "level_offset"):
            if isinstance(kwargs.get(key), int) and not isinstance(kwargs.get(key), bool):
                kwargs[key] = float(kwargs[key])
        try:
            return cls(**kwargs)
        except (ConfigError, TypeError) as exc:
            raise InputFileError(path, str(exc)) from exc

    @classmethod
    def from_cli(cls, items) -> "ColumnMapping":
        """Build a mapping from command-line strings ``KEY=VALUE``.

        Column entries are ``COLUMN=SOURCE[:UNIT]`` (SOURCE a header name or a 0-based field index) or
        ``COLUMN=@VALUE[:UNIT]`` for a constant, or ``COLUMN=:UNIT`` for the unit alone (the samples ``g``
        of a wide file); e.g. ``["g=G_uS:uS", "t=time:s", "temperature=@85:degC"]``.
        Options: ``delimiter=``, ``header=yes|no``, ``invalid_rows=error|drop``, ``layout=long|wide``,
        ``fs=`` (Hz), ``first_sample=``, ``level_step=``, ``level_offset=``. Raises :class:`ConfigError`.
        """
        kwargs: dict = {"columns": {}, "units": {}, "constants": {}}
        for item in items:
            key, sep, value = str(item).partition("=")
            key = key.strip()
            if not sep or not key:
                raise ConfigError(f"column mapping entry {item!r} is not KEY=VALUE")
            if key in QUANTITY:
                source, colon, unit = value.rpartition(":") if ":" in value else (value, "", "")
                if colon:
                    kwargs["units"][key] = unit
                if source.startswith("@"):
                    kwargs["constants"][key] = _number(source[1:], item)
                elif colon and not source:
                    pass  # COLUMN=:UNIT sets only the unit (e.g. the samples of a wide file)
                else:
                    kwargs["columns"][key] = int(source) if source.isdigit() else source
            elif key == "header":
                if value.lower() not in ("yes", "no", "true", "false"):
                    raise ConfigError(f"header must be yes or no, got {value!r}")
                kwargs["header"] = value.lower() in ("yes", "true")
            elif key in ("delimiter", "invalid_rows", "layout"):
                kwargs[key] = value
            elif key in ("fs", "level_step", "level_offset"):
                kwargs[key] = _number(value, item)
            elif key == "first_sample":
                if not value.isdigit():
                    raise ConfigError(f"first_sample must be a field index >= 0, got {value!r}")
                kwargs[key] = int(value)
            else:
                raise ConfigError(f"unknown column mapping key {key!r} in {item!r} "
                                  f"(columns: {', '.join(QUANTITY)}; options: delimiter, header, invalid_rows, "
                                  "layout, fs, first_sample, level_step, level_offset)")
        return cls(**kwargs)

    def unit(self, column: str):
        """The :class:`~devicelab.measurements.units.Unit` of canonical ``column`` in the file."""
        return unit_for(column, self.units.get(column))


def _number(text: str, item) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{text!r} in {item!r} is not a number") from None
    if not math.isfinite(value):
        raise ConfigError(f"{text!r} in {item!r} is not a finite number")
    return value
