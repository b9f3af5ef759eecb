"""Sweep descriptions (TOML): validation, the grid of points and the description hash.

The TOML layout is documented in :mod:`devicelab.spice.sweep.run` (section "Sweep description"). Every
validation error is a :class:`~devicelab.errors.ConfigError` naming the file and the key, e.g.
``sweep.toml: [array] r_row: expected numbers >= 0 (ohm), got 'two'``.

Units: resistances in ohm, conductances in S, voltages in V.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from devicelab.devices.modelfile import resolve_model
from devicelab.devices.pcm import PRESETS
from devicelab.errors import ConfigError, DevicelabError
from devicelab.files import sha256_file, sha256_text
from devicelab.spice.crossbar.spec import AccessTransistor

ENGINES = ("nodal", "ngspice")
CELLS = ("passive", "1t1r")
DEVICE_KINDS = ("linear", "sinh")
CONDUCTANCE_KINDS = ("uniform", "device_model", "weights")
INPUT_KINDS = ("dense", "sparse", "dnn", "onehot")
WEIGHT_LAYOUTS = ("out_in", "in_out")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
_TOP_KEYS = {"name", "n_vectors", "repeats", "seed", "engines", "ngspice_max_size", "array", "devices",
             "conductances", "inputs", "transistors"}
#: Keys of a [[transistors]] table and the AccessTransistor field each sets (units in its docstring).
_TRANSISTOR_KEYS = {"v_gate": "v_gate", "vt0": "vt0", "kp": "kp", "w": "w", "l": "l", "lambda": "lambda_"}
_ARRAY_KEYS = {"sizes", "rows", "cols", "r_wire", "r_row", "r_col", "r_driver", "r_sense", "cell", "differential",
               "devices_per_polarity"}


# --------------------------------------------------------------------------- small validated pieces
@dataclass(frozen=True)
class DeviceSpec:
    """Read I-V of the cells: ``linear`` (I = G V) or ``sinh`` (I = G v0 sinh(V/v0), v0 in V)."""

    kind: str = "linear"
    v0: float | None = None

    @property
    def name(self) -> str:
        """Short label, e.g. ``linear`` or ``sinh(v0=0.25)``."""
        return self.kind if self.kind == "linear" else f"sinh(v0={self.v0:g})"


@dataclass(frozen=True)
class ConductanceSpec:
    """How the conductances of one point are drawn.

    kind ``uniform``: i.i.d. uniform in [g_min, g_max] (S). kind ``device_model``: targets uniform in
    [g_min, g_max] programmed through ``model`` (a preset name or a model file path, resolved absolute).
    kind ``weights``: tiles of the 2-D arrays in ``file`` (.npy/.npz; ``arrays`` selects names of an npz,
    ``layout`` says whether matrices are (out, in) or (in, out)) mapped linearly onto [g_min, g_max],
    optionally programmed through ``model``.
    """

    name: str
    kind: str
    g_min: float
    g_max: float
    model: str | None = None
    file: str | None = None
    arrays: tuple[str, ...] = ()
    layout: str = "out_in"


@dataclass(frozen=True)
class InputSpec:
    """Input voltage pattern (V) of one point; see :func:`devicelab.spice.sweep.data.sample_inputs`."""

    name: str
    kind: str
    v_read: float = 0.2
    signed: bool = False
    density: float = 1.0
    zero_fraction: float = 0.5
    tail_sigma: float = 1.0


@dataclass(frozen=True)
class SweepPoint:
    """One grid point: a circuit, how its conductances and inputs are drawn, and the engines that run it.

    Resistances in ohm. ``seed_g`` seeds the conductances and depends only on (seed, repeat, rows, cols,
    conductance, differential), ``seed_v`` seeds the inputs and depends only on (seed, repeat, rows, inputs,
    n_vectors): points that differ only in wire resistance, drivers, cell or device see the very same G and V.
    """

    index: int
    rows: int
    cols: int
    r_row: float
    r_col: float
    r_driver: float
    r_sense: float
    cell: str
    differential: bool
    device: DeviceSpec
    conductance: ConductanceSpec
    inputs: InputSpec
    n_vectors: int
    repeat: int
    seed_g: int
    seed_v: int
    engines: tuple[str, ...]
    transistor: AccessTransistor | None = None
    devices_per_polarity: int = 1

    def params(self) -> dict:
        """Flat parameter dict (str/int/float/bool values) stored with the point; v0 is NaN when linear;
        1T1R points add the access transistor's ``v_gate``, ``vt0`` (V), ``kp`` (A/V^2), ``w``, ``l`` (m)
        and ``lambda_`` (1/V); multi-device points ``devices_per_polarity``."""
        extra = {} if self.transistor is None else {
            name: float(getattr(self.transistor, name)) for name in _TRANSISTOR_KEYS.values()}
        if self.devices_per_polarity > 1:
            extra["devices_per_polarity"] = self.devices_per_polarity
        return extra | {
            "index": self.index, "rows": self.rows, "cols": self.cols, "r_row": self.r_row, "r_col": self.r_col,
            "r_driver": self.r_driver, "r_sense": self.r_sense, "cell": self.cell,
            "differential": self.differential, "device": self.device.kind,
            "v0": math.nan if self.device.v0 is None else self.device.v0,
            "conductance": self.conductance.name, "inputs": self.inputs.name, "n_vectors": self.n_vectors,
            "repeat": self.repeat, "seed_g": self.seed_g, "seed_v": self.seed_v, "engines": ",".join(self.engines),
        }


@dataclass(frozen=True)
class SweepDescription:
    """A validated sweep description; :meth:`points` expands the grid (the product of all lists)."""

    name: str
    sizes: tuple[tuple[int, int], ...]
    r_wires: tuple[tuple[float, float], ...]
    r_driver: tuple[float, ...]
    r_sense: tuple[float, ...]
    cells: tuple[str, ...]
    differential: tuple[bool, ...]
    devices: tuple[DeviceSpec, ...]
    conductances: tuple[ConductanceSpec, ...]
    inputs: tuple[InputSpec, ...]
    n_vectors: int = 16
    repeats: int = 1
    seed: int = 0
    engines: tuple[str, ...] = ("nodal",)
    ngspice_max_size: int = 32
    source: str = "<memory>"
    source_text: str = ""
    files: tuple[tuple[str, str], ...] = ()
    transistors: tuple[AccessTransistor, ...] = (AccessTransistor(),)
    devices_per_polarity: tuple[int, ...] = (1,)

    def points(self) -> list[SweepPoint]:
        """All grid points in a fixed order (sizes outermost, repeats innermost); 1T1R cells are repeated
        for every access transistor of :attr:`transistors`."""
        out: list[SweepPoint] = []
        cells: list[tuple[str, AccessTransistor | None]] = [
            (cell, t) for cell in self.cells for t in (self.transistors if cell == "1t1r" else (None,))]
        # two nested products (same order as one product of all lists): the typed overloads stop at six
        circuit = itertools.product(self.sizes, self.r_wires, self.r_driver, self.r_sense, cells, self.differential)
        data = itertools.product(self.devices_per_polarity, self.devices, enumerate(self.conductances),
                                 enumerate(self.inputs), range(self.repeats))
        grid = itertools.product(circuit, data)
        for ((rows, cols), (r_row, r_col), r_drv, r_sns, (cell, tr), diff), (n_dev, dev, (ci, cond), (ii, inp), rep) \
                in grid:
            fits = rows <= self.ngspice_max_size and cols <= self.ngspice_max_size
            engines = tuple(e for e in self.engines if e != "ngspice" or fits)
            seed_g = _derive_seed(self.seed, 1, rep, rows, cols, ci, int(diff), *((n_dev,) if n_dev > 1 else ()))
            seed_v = _derive_seed(self.seed, 2, rep, rows, ii, self.n_vectors)
            out.append(SweepPoint(len(out), rows, cols, r_row, r_col, r_drv, r_sns, cell, diff, dev, cond, inp,
                                  self.n_vectors, rep, seed_g, seed_v, engines, tr, n_dev))
        return out

    def canonical(self) -> dict:
        """JSON-friendly dict of everything that determines the results (no source path or TOML text)."""
        data = dataclasses.asdict(self)
        for key in ("source", "source_text"):
            data.pop(key)
        if self.transistors == (AccessTransistor(),):
            data.pop("transistors")  # descriptions without [[transistors]] keep their hash
        if self.devices_per_polarity == (1,):
            data.pop("devices_per_polarity")
        return data

    def sha256(self) -> str:
        """Hash of :meth:`canonical` (includes the SHA-256 of every referenced weight/model file)."""
        return sha256_text(json.dumps(self.canonical(), sort_keys=True, default=str))


def _derive_seed(*key: int) -> int:
    """A 63-bit seed derived from integers with numpy's SeedSequence (stable across versions)."""
    return int(np.random.SeedSequence(list(key)).generate_state(1, np.uint64)[0] >> np.uint64(1))


# --------------------------------------------------------------------------- validation helpers
class _Where:
    """Error-message builder for one file and table."""

    def __init__(self, source: str, table: str = ""):
        self.source = source
        self.table = table

    def sub(self, table: str) -> "_Where":
        return _Where(self.source, table)

    def error(self, key: str, message: str) -> ConfigError:
        prefix = f"[{self.table}] " if self.table else ""
        return ConfigError(f"{self.source}: {prefix}{key}: {message}")

    def check_keys(self, table: dict, allowed: set[str]) -> None:
        unknown = sorted(set(table) - allowed)
        if unknown:
            raise self.error(unknown[0], f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def number(self, table: dict, key: str, default=None, *, minimum=None, positive=False, unit="") -> float:
        value = table.get(key, default)
        if value is None:
            raise self.error(key, f"missing (a number in {unit or 'SI units'})")
        return self._number(key, value, minimum, positive, unit)

    def _number(self, key, value, minimum, positive, unit) -> float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if ok and positive:
            ok = value > 0
        if ok and minimum is not None:
            ok = value >= minimum
        if not ok:
            bound = " > 0" if positive else (f" >= {minimum}" if minimum is not None else "")
            raise self.error(key, f"expected a finite number{bound}{f' ({unit})' if unit else ''}, got {value!r}")
        return float(value)

    def numbers(self, table: dict, key: str, default=None, *, minimum=None, positive=False, unit="") -> tuple:
        value = table.get(key, default)
        if value is None:
            raise self.error(key, f"missing (a number or list of numbers in {unit})")
        values = value if isinstance(value, list) else [value]
        if not values:
            raise self.error(key, "the list is empty")
        return tuple(self._number(key, v, minimum, positive, unit) for v in values)

    def integer(self, table: dict, key: str, default=None, *, minimum=1) -> int:
        value = table.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise self.error(key, f"expected an integer >= {minimum}, got {value!r}")
        return value

    def choices(self, table: dict, key: str, allowed: tuple, default=None) -> tuple:
        value = table.get(key, default)
        values = value if isinstance(value, list) else [value]
        if not values:
            raise self.error(key, "the list is empty")
        for v in values:
            if v not in allowed:
                raise self.error(key, f"expected one of {', '.join(map(repr, allowed))}, got {v!r}")
        return tuple(dict.fromkeys(values))

    def name(self, table: dict, key: str, default: str) -> str:
        value = table.get(key, default)
        if not isinstance(value, str) or not _NAME.match(value):
            raise self.error(key, f"expected a name matching {_NAME.pattern}, got {value!r}")
        return value

    def tables(self, data: dict, key: str) -> list[dict]:
        value = data.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(t, dict) for t in value):
            raise self.error(key, f"expected one or more [[{key}]] tables")
        return value


# --------------------------------------------------------------------------- parsing
def load_description(path) -> SweepDescription:
    """Read and validate a sweep description TOML file; relative file paths are resolved against its folder."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read sweep description ({exc.strerror})") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    return parse_description(data, source=str(path), base_dir=path.resolve().parent, source_text=text)


def parse_description(data: dict, source: str = "<memory>", base_dir=".", source_text: str = "") -> SweepDescription:
    """Validate a parsed TOML dict (see :mod:`devicelab.spice.sweep.run` for the keys) into a description."""
    where = _Where(source)
    base_dir = Path(base_dir)
    where.check_keys(data, _TOP_KEYS)
    array = data.get("array")
    if not isinstance(array, dict):
        raise where.error("array", "missing [array] table (sizes and wire resistances)")
    arr = where.sub("array")
    arr.check_keys(array, _ARRAY_KEYS)
    engines = where.choices(data, "engines", ENGINES + ("both",), default=["nodal"])
    engines = tuple(e for e in ENGINES if e in engines or "both" in engines)
    files: dict[str, str] = {}
    conductances = tuple(_conductance(where.sub(f"conductances.{k}"), t, base_dir, files)
                         for k, t in enumerate(where.tables(data, "conductances")))
    inputs = tuple(_inputs(where.sub(f"inputs.{k}"), t) for k, t in enumerate(where.tables(data, "inputs")))
    devices = tuple(_device(where.sub(f"devices.{k}"), t)
                    for k, t in enumerate(data.get("devices") or [{"kind": "linear"}]))
    for label, items in (("conductances", conductances), ("inputs", inputs)):
        names = [item.name for item in items]
        if len(set(names)) != len(names):
            raise where.error(label, f"names must be unique, got {names} (set name = \"...\")")
    desc = SweepDescription(
        name=where.name(data, "name", "sweep"),
        sizes=_sizes(arr, array),
        r_wires=_wires(arr, array),
        r_driver=arr.numbers(array, "r_driver", 0.0, minimum=0.0, unit="ohm"),
        r_sense=arr.numbers(array, "r_sense", 0.0, minimum=0.0, unit="ohm"),
        cells=arr.choices(array, "cell", CELLS, default="passive"),
        differential=tuple(dict.fromkeys(_bools(arr, array, "differential"))),
        devices_per_polarity=(_ints(arr, array, "devices_per_polarity") if "devices_per_polarity" in array
                              else (1,)),
        devices=devices, conductances=conductances, inputs=inputs,
        n_vectors=where.integer(data, "n_vectors", 16),
        repeats=where.integer(data, "repeats", 1),
        seed=where.integer(data, "seed", 0, minimum=0),
        engines=engines,
        ngspice_max_size=where.integer(data, "ngspice_max_size", 32),
        source=source, source_text=source_text, files=tuple(sorted(files.items())),
    )
    if "transistors" in data:
        if "1t1r" not in desc.cells:
            raise where.error("transistors", "access transistors are only used by 1T1R cells; add \"1t1r\" to "
                                             "[array] cell or remove the [[transistors]] tables")
        desc = dataclasses.replace(desc, transistors=tuple(
            _transistor(where.sub(f"transistors.{k}"), t) for k, t in enumerate(where.tables(data, "transistors"))))
    if engines == ("ngspice",):
        too_big = [s for s in desc.sizes if max(s) > desc.ngspice_max_size]
        if too_big:
            raise where.error("engines", f"only 'ngspice' is listed but sizes {too_big} exceed ngspice_max_size="
                                         f"{desc.ngspice_max_size}; add 'nodal' or raise the limit")
    return desc


def _sizes(arr: _Where, array: dict) -> tuple[tuple[int, int], ...]:
    if "sizes" in array:
        if "rows" in array or "cols" in array:
            raise arr.error("sizes", "give either sizes = [[rows, cols], ...] or rows/cols lists, not both")
        sizes = array["sizes"]
        ok = isinstance(sizes, list) and sizes and all(
            isinstance(s, list) and len(s) == 2 and all(isinstance(n, int) and not isinstance(n, bool) and n >= 1
                                                        for n in s) for s in sizes)
        if not ok:
            raise arr.error("sizes", f"expected a list of [rows, cols] pairs of integers >= 1, got {sizes!r}")
        return tuple(dict.fromkeys((s[0], s[1]) for s in sizes))
    rows = _ints(arr, array, "rows")
    if "cols" not in array:
        return tuple((n, n) for n in rows)  # square arrays
    return tuple(itertools.product(rows, _ints(arr, array, "cols")))


def _ints(arr: _Where, array: dict, key: str) -> tuple[int, ...]:
    value = array.get(key)
    values = value if isinstance(value, list) else [value]
    if value is None or not values or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1
                                              for n in values):
        raise arr.error(key, f"expected an integer >= 1 or a list of them, got {value!r}")
    return tuple(dict.fromkeys(values))


def _bools(arr: _Where, array: dict, key: str) -> tuple[bool, ...]:
    value = array.get(key, False)
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, bool) for v in values):
        raise arr.error(key, f"expected true/false or a list of them, got {value!r}")
    return tuple(values)


def _wires(arr: _Where, array: dict) -> tuple[tuple[float, float], ...]:
    if "r_wire" in array:
        if "r_row" in array or "r_col" in array:
            raise arr.error("r_wire", "give either r_wire (r_row = r_col) or r_row/r_col, not both")
        return tuple((r, r) for r in arr.numbers(array, "r_wire", minimum=0.0, unit="ohm"))
    if "r_row" not in array:
        raise arr.error("r_row", "missing (wire resistance per segment in ohm; or give r_wire)")
    r_row = arr.numbers(array, "r_row", minimum=0.0, unit="ohm")
    r_col = arr.numbers(array, "r_col", minimum=0.0, unit="ohm") if "r_col" in array else None
    if r_col is None:
        return tuple((r, r) for r in dict.fromkeys(r_row))
    return tuple(dict.fromkeys(itertools.product(r_row, r_col)))


def _device(where: _Where, table) -> DeviceSpec:
    if not isinstance(table, dict):
        raise where.error("devices", "expected [[devices]] tables with kind = \"linear\" | \"sinh\"")
    where.check_keys(table, {"kind", "v0"})
    kind = where.choices(table, "kind", DEVICE_KINDS, default="linear")[0]
    if kind == "linear":
        if "v0" in table:
            raise where.error("v0", "only meaningful for kind = \"sinh\"")
        return DeviceSpec("linear")
    return DeviceSpec("sinh", where.number(table, "v0", positive=True, unit="V"))


def _transistor(where: _Where, table: dict) -> AccessTransistor:
    """An access transistor from a [[transistors]] table (defaults: :class:`AccessTransistor`'s)."""
    where.check_keys(table, set(_TRANSISTOR_KEYS))
    default = AccessTransistor()
    values = {field: where.number(table, key, getattr(default, field), minimum=0.0 if key == "lambda" else None,
                                  positive=key in ("kp", "w", "l"),
                                  unit={"kp": "A/V^2", "w": "m", "l": "m", "lambda": "1/V"}.get(key, "V"))
              for key, field in _TRANSISTOR_KEYS.items()}
    if not values["v_gate"] > values["vt0"]:
        raise where.error("v_gate", f"the word-line voltage {values['v_gate']:g} V is not above the threshold "
                                    f"vt0 = {values['vt0']:g} V: the access transistor never conducts "
                                    "(expected v_gate > vt0, V)")
    return AccessTransistor(**values)


def _conductance(where: _Where, table: dict, base_dir: Path, files: dict) -> ConductanceSpec:
    kind = where.choices(table, "kind", CONDUCTANCE_KINDS)[0] if "kind" in table else None
    if kind is None:
        raise where.error("kind", f"missing (one of {', '.join(CONDUCTANCE_KINDS)})")
    allowed = {"kind", "name", "g_min", "g_max"} | {
        "uniform": set(), "device_model": {"model"}, "weights": {"file", "arrays", "layout", "model"}}[kind]
    where.check_keys(table, allowed)
    g_min = where.number(table, "g_min", 0.0 if kind != "uniform" else None, minimum=0.0, unit="S")
    model, default_gmax = None, None
    if "model" in table or kind == "device_model":
        model, default_gmax = _model_ref(where, table, base_dir, files)
    g_max = where.number(table, "g_max", default_gmax, positive=True, unit="S")
    if g_max <= g_min:
        raise where.error("g_max", f"must exceed g_min = {g_min:g} S, got {g_max:g} S")
    spec = dict(name=where.name(table, "name", kind), kind=kind, g_min=g_min, g_max=g_max, model=model)
    if kind == "weights":
        file = _existing_file(where, table, "file", base_dir, (".npy", ".npz"))
        files[file] = sha256_file(file)
        arrays = table.get("arrays", [])
        if not isinstance(arrays, list) or not all(isinstance(a, str) for a in arrays):
            raise where.error("arrays", f"expected a list of array names in the .npz, got {arrays!r}")
        layout = where.choices(table, "layout", WEIGHT_LAYOUTS, default="out_in")[0]
        spec.update(file=file, arrays=tuple(arrays), layout=layout)
    return ConductanceSpec(**spec)


def _model_ref(where: _Where, table: dict, base_dir: Path, files: dict) -> tuple[str, float]:
    """(preset name or absolute model-file path, the model's g_max in S); the model is loaded to check it."""
    value = table.get("model")
    if not isinstance(value, str) or not value:
        raise where.error("model", f"expected a preset name ({', '.join(PRESETS)}) or a model file path, "
                                   f"got {value!r}")
    if value not in PRESETS:
        value = _existing_file(where, table, "model", base_dir, None)
        files[value] = sha256_file(value)
    try:
        return value, resolve_model(value).g_max
    except DevicelabError as exc:
        raise where.error("model", f"cannot load the device model ({exc})") from exc


def _existing_file(where: _Where, table: dict, key: str, base_dir: Path, suffixes) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value:
        raise where.error(key, f"expected a file path, got {value!r}")
    path = (base_dir / value).resolve()
    if suffixes and path.suffix not in suffixes:
        raise where.error(key, f"expected a {' or '.join(suffixes)} file, got {value!r}")
    if not path.is_file():
        raise where.error(key, f"file not found: {path}")
    return str(path)


def _inputs(where: _Where, table: dict) -> InputSpec:
    kind = where.choices(table, "kind", INPUT_KINDS)[0] if "kind" in table else None
    if kind is None:
        raise where.error("kind", f"missing (one of {', '.join(INPUT_KINDS)})")
    extra = {"dense": {"signed"}, "sparse": {"density", "signed"}, "dnn": {"zero_fraction", "tail_sigma"},
             "onehot": set()}[kind]
    where.check_keys(table, {"kind", "name", "v_read"} | extra)
    spec = dict(name=where.name(table, "name", kind), kind=kind,
                v_read=where.number(table, "v_read", 0.2, positive=True, unit="V"))
    if "signed" in table:
        if not isinstance(table["signed"], bool):
            raise where.error("signed", f"expected true or false, got {table['signed']!r}")
        spec["signed"] = table["signed"]
    if kind == "sparse":
        density = where.number(table, "density", unit="fraction of nonzero inputs")
        if not 0 < density <= 1:
            raise where.error("density", f"expected 0 < density <= 1, got {density}")
        spec["density"] = density
    if kind == "dnn":
        zero_fraction = where.number(table, "zero_fraction", 0.5, minimum=0.0, unit="fraction of zeros")
        if zero_fraction >= 1:
            raise where.error("zero_fraction", f"expected 0 <= zero_fraction < 1, got {zero_fraction}")
        spec["zero_fraction"] = zero_fraction
        spec["tail_sigma"] = where.number(table, "tail_sigma", 1.0, positive=True, unit="log-normal sigma")
    return InputSpec(**spec)
