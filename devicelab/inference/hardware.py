"""One explicit description of the analog hardware a network runs on: :class:`AnalogHardware`.

Every stage that runs a network on analog tiles (evaluation, loss attribution, calibration, energy, training)
takes one frozen :class:`AnalogHardware` instead of loose arguments. It holds:

- ``device``: the device model (a :class:`DeviceModelLike`, e.g. :class:`~devicelab.devices.PCMModel`);
- ``tile``: the tile settings and non-ideality switches (:class:`~devicelab.inference.analog.AnalogConfig`);
- ``crossbar``: an optional behavioral crossbar model (:class:`CrossbarModelLike`: IR drop, sneak paths);
- ``adc``: an optional ADC model (:class:`ADCModelLike`; None: the ideal ``tile.adc_bits`` quantizer);
- ``compensation``: the drift compensation (:class:`DriftCompensation`);
- ``update``: an optional pulse-update device model for in-memory training
  (:class:`~devicelab.devices.UpdateModel`);
- ``cell``: the unit cell (:class:`~devicelab.inference.mapping.UnitCell`): passive or 1T1R, N devices per
  polarity and their significance factors.

Each swappable part is typed by a small :class:`typing.Protocol`; the engine calls only what the protocol
names. A hardware description is saved as TOML (:meth:`AnalogHardware.save`) that references the model files
by path and SHA-256, so a run is described once: ``devicelab evaluate --hardware hw.toml ...``. File layout::

    format = "devicelab.hardware"
    format_version = 1
    [device]                 # preset = "joshi2020", or file = "pcm_model.h5" + sha256 = "..."
    [tile]                   # AnalogConfig fields (g_max, dac_bits, adc_bits may be "none")
    [crossbar]               # optional: file + sha256
    [adc]                    # optional: file + sha256
    [compensation]           # kind = "none" | "global" | "column" | "batchnorm", plus its fields
    [update]                 # optional: preset = "nandakumar2018", or file + sha256
    [cell]                   # optional: UnitCell fields (cell, devices_per_polarity, significance, scheme,
                             #   and for 1T1R the access transistor's v_gate, vt0, kp, w, l, lambda_)

Relative paths are relative to the folder of the TOML file.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol, runtime_checkable

import numpy as np

from devicelab.errors import ConfigError, InputFileError
from devicelab.files import atomic_output, sha256_file
from devicelab.inference.analog import AnalogConfig
from devicelab.inference.compensation import COMPENSATIONS, GlobalDriftCompensation, make_compensation
from devicelab.inference.mapping import UnitCell

FORMAT = "devicelab.hardware"
FORMAT_VERSION = 1


@runtime_checkable
class DeviceModelLike(Protocol):
    """A device model the engine can program, drift and read (conductances in S, times in s, K)."""

    name: str
    g_max: float

    def program(self, g_target: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Programmed conductances (S) for targets ``g_target`` (S)."""

    def drift_exponents(self, g_target: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Per-device drift exponents for targets ``g_target`` (S)."""

    def drift(self, g_prog: np.ndarray, nu: np.ndarray, t: float, temperature: float | None = None) -> np.ndarray:
        """Conductances (S) at ``t`` s after programming, without read noise."""

    def read(self, g_prog: np.ndarray, nu: np.ndarray, t: float, rng: np.random.Generator,
             temperature: float | None = None) -> np.ndarray:
        """Conductances (S) read at ``t`` s after programming, with read noise."""


@runtime_checkable
class BoundTile(Protocol):
    """A crossbar model bound to the conductances of one tile."""

    @property
    def transfer(self) -> np.ndarray | None:
        """(rows, cols) matrix (S) with I = V @ transfer when the bound circuit is linear, else None."""

    def apply(self, v: np.ndarray) -> np.ndarray:
        """Column currents (batch, cols) in A for input voltages ``v`` (batch, rows) in V."""


@runtime_checkable
class CrossbarModelLike(Protocol):
    """A behavioral crossbar model: IR drop and sneak paths of a tile."""

    @property
    def differential(self) -> bool:
        """True when one bind takes a (2, rows, cols) G+/G- pair; False: G+ and G- arrays bind separately."""

    def bind(self, g: np.ndarray) -> BoundTile:
        """Bind conductances ``g`` (S) of one tile (all per-matrix set-up happens here)."""


@runtime_checkable
class ADCModelLike(Protocol):
    """An ADC: input range [v_min, v_max] (V), codes 0..2^bits - 1."""

    bits: int
    v_min: float
    v_max: float

    def convert(self, v: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Output codes for input voltages ``v`` (V)."""

    def reconstruct(self, codes: np.ndarray) -> np.ndarray:
        """Input voltage (V) each code stands for."""


@runtime_checkable
class DriftCompensation(Protocol):
    """Drift compensation: measures a readout through the tiles and turns it into output factors."""

    name: str
    #: Whether it sends calibration inputs through the tiles (False: nothing to measure).
    measures: bool
    #: Whether it re-estimates BatchNorm statistics through the analog network at each read.
    adapts_batchnorm: bool

    def calibration_inputs(self, n_inputs: int) -> np.ndarray:
        """The fixed (n_vectors, n_inputs) calibration inputs (fractions of the DAC full scale)."""

    def readout(self, read_fn: Callable[[np.ndarray], np.ndarray], n_inputs: int) -> np.ndarray:
        """Readout of a layer; ``read_fn`` maps calibration inputs to uncompensated outputs."""

    def factor(self, reference: np.ndarray, readout: np.ndarray) -> np.ndarray:
        """Multiplier of the digital output from the reference and the current readout."""


@dataclass(frozen=True)
class PartSource:
    """Where a part of an :class:`AnalogHardware` came from: a preset name or a file with its SHA-256."""

    preset: str | None = None
    file: str | None = None
    sha256: str | None = None

    def label(self) -> str:
        """Short text for reports: the preset name or the file name."""
        return self.preset if self.preset is not None else Path(self.file).name if self.file else "given object"


_PROTOCOLS = {"device": DeviceModelLike, "crossbar": CrossbarModelLike, "adc": ADCModelLike,
              "compensation": DriftCompensation}


@dataclass(frozen=True)
class AnalogHardware:
    """The analog hardware a network runs on (see the module docstring). Frozen and self-validating.

    Attributes
    ----------
    device : DeviceModelLike or None
        Device statistics (programming noise, drift, read noise), conductances in S; required for inference
        (None only for hardware used in in-memory training alone).
    tile : AnalogConfig
        Tile size, mapping, DAC/ADC settings (V, bits) and non-ideality switches.
    crossbar : CrossbarModelLike or None
        Behavioral crossbar model (IR drop); None: ideal V.G tiles.
    adc : ADCModelLike or None
        ADC model; None: the ideal ``tile.adc_bits`` quantizer.
    compensation : DriftCompensation
        Drift compensation (default: global, Joshi et al. 2020).
    update : object or None
        Pulse-update device model for in-memory training (:class:`~devicelab.devices.UpdateModel`).
    energy : EnergyModel or None
        Periphery and digital energy tables (:class:`~devicelab.inference.energy.EnergyModel`); None: the
        defaults when energy is asked for. Saved as the ``[energy]`` table.
    cell : UnitCell
        How each weight is stored (cell kind, devices per polarity, significance, programming scheme); every
        device is programmed, drifts and is read on its own. With a crossbar model the model is bound for
        this layout (:meth:`tile_crossbar`).
    sources : dict
        Part name -> :class:`PartSource`, for saving and provenance; filled by :meth:`from_files`/:meth:`load`.
    """

    device: DeviceModelLike | None = None
    tile: AnalogConfig = field(default_factory=AnalogConfig)
    crossbar: CrossbarModelLike | None = None
    adc: ADCModelLike | None = None
    compensation: DriftCompensation = field(default_factory=GlobalDriftCompensation)
    update: Any = None
    energy: Any = None
    sources: dict[str, PartSource] = field(default_factory=dict, compare=False)
    cell: UnitCell = field(default_factory=UnitCell)

    def __post_init__(self):
        if not isinstance(self.cell, UnitCell):
            raise ConfigError(f"AnalogHardware: cell must be a UnitCell, got {type(self.cell).__name__}")
        if not isinstance(self.tile, AnalogConfig):
            raise ConfigError(f"AnalogHardware: tile must be an AnalogConfig, got {type(self.tile).__name__}")
        for part, protocol in _PROTOCOLS.items():
            value = getattr(self, part)
            if value is None and part in ("device", "crossbar", "adc"):
                continue
            if not isinstance(value, protocol):
                missing = [m for m in _members(protocol) if not hasattr(value, m)]
                raise ConfigError(f"AnalogHardware: {part} {type(value).__name__} is not a {protocol.__name__} "
                                  f"(missing: {', '.join(sorted(missing))})")
        if self.energy is not None:
            from devicelab.inference.energy import EnergyModel

            if not isinstance(self.energy, EnergyModel):
                raise ConfigError(f"AnalogHardware: energy must be an EnergyModel, got {type(self.energy).__name__}")
        unknown = set(self.sources) - {"device", "crossbar", "adc", "update"}
        if unknown:
            raise ConfigError(f"AnalogHardware: sources for unknown parts {sorted(unknown)}")

    # ------------------------------------------------------------------ variants
    def replace(self, **changes) -> "AnalogHardware":
        """A copy with parts replaced (sources of replaced parts are dropped unless given)."""
        sources = {k: v for k, v in self.sources.items() if k not in changes}
        sources.update(changes.pop("sources", {}))
        return dataclasses.replace(self, sources=sources, **changes)

    def with_tile(self, **changes) -> "AnalogHardware":
        """A copy whose tile settings have ``changes`` (AnalogConfig field -> value)."""
        return dataclasses.replace(self, tile=dataclasses.replace(self.tile, **changes))

    @property
    def g_max(self) -> float:
        """Conductance (S) the largest |weight| maps to: ``tile.g_max`` or the device model's g_max."""
        return float(self.tile.g_max or self.require_device().g_max)

    def tile_crossbar(self) -> CrossbarModelLike | None:
        """The crossbar model bound for :attr:`cell`'s layout (cell kind, access transistor, devices per
        polarity, significance) when it can be re-targeted (a ``with_circuit`` method, as
        :class:`~devicelab.behavioral.CrossbarModel`); otherwise the crossbar model as given (then it must
        take the layout's conductance arrays itself), or None."""
        crossbar = self.crossbar
        if crossbar is None or not hasattr(crossbar, "with_circuit"):
            return crossbar
        cell = self.cell
        return crossbar.with_circuit(cell=cell.cell, transistor=cell.transistor, devices_per_polarity=cell.n,
                                     significance=cell.significance)

    def require_device(self) -> DeviceModelLike:
        """The device model; :class:`ConfigError` when this hardware has none (inference needs one)."""
        if self.device is None:
            raise ConfigError("this hardware description has no device model; inference needs one "
                              "(give --device-model, --preset or a [device] table)")
        return self.device

    @property
    def ir_drop(self) -> bool:
        """Whether tiles go through the crossbar model (one is given and ``tile.ir_drop`` is on)."""
        return self.crossbar is not None and self.tile.ir_drop

    def describe(self) -> dict:
        """JSON-able summary: the parts' names and sources, tile settings and compensation."""
        def source(part, fallback):
            src = self.sources.get(part)
            return dataclasses.asdict(src) if src is not None else fallback

        return {"device": source("device", {"name": getattr(self.device, "name", type(self.device).__name__)}),
                "tile": dataclasses.asdict(self.tile),
                "crossbar": source("crossbar", None if self.crossbar is None else type(self.crossbar).__name__),
                "adc": source("adc", None if self.adc is None else type(self.adc).__name__),
                "compensation": _compensation_table(self.compensation),
                "update": source("update", None if self.update is None else getattr(self.update, "name", None)),
                "cell": self.cell.to_dict()}

    # ------------------------------------------------------------------ construction from files
    @classmethod
    def from_files(cls, *, device_model: str | os.PathLike | None = None, preset: str | None = None,
                   crossbar_model: str | os.PathLike | None = None, adc_model: str | os.PathLike | None = None,
                   compensation: str | DriftCompensation = "global", tile: AnalogConfig | None = None,
                   update_model: str | os.PathLike | None = None, update_preset: str | None = None,
                   cell: UnitCell | None = None) -> "AnalogHardware":
        """Hardware from model files and preset names: at most one of ``device_model`` and ``preset`` (one is
        needed for inference), at most one of ``update_model`` and ``update_preset`` (for training);
        ``cell`` the unit cell (default: one passive device per polarity)."""
        if device_model is not None and preset is not None:
            raise ConfigError("give at most one of a device model file or a device preset")
        if update_model is not None and update_preset is not None:
            raise ConfigError("give at most one of an update model file or an update preset")
        parts, sources = _load_parts(device_model, preset, crossbar_model, adc_model, update_model, update_preset)
        comp = make_compensation(compensation) if isinstance(compensation, str) else compensation
        return cls(tile=tile or AnalogConfig(), compensation=comp, sources=sources, cell=cell or UnitCell(), **parts)

    def with_files(self, *, device_model: str | os.PathLike | None = None, preset: str | None = None,
                   crossbar_model: str | os.PathLike | None = None, adc_model: str | os.PathLike | None = None,
                   update_model: str | os.PathLike | None = None, update_preset: str | None = None,
                   ) -> "AnalogHardware":
        """A copy with the parts given here loaded from their files or presets (others kept)."""
        if device_model is not None and preset is not None:
            raise ConfigError("give at most one of a device model file or a device preset")
        parts, sources = _load_parts(device_model, preset, crossbar_model, adc_model, update_model, update_preset)
        return self.replace(sources=sources, **parts)

    # ------------------------------------------------------------------ TOML file
    def save(self, path: str | os.PathLike) -> Path:
        """Write this description as TOML (atomically); model files are referenced by path and SHA-256.

        Every part must come from a preset or a file (see :meth:`from_files`); in-memory objects raise
        :class:`ConfigError` naming the part.
        """
        path = Path(path)
        lines = [f'format = "{FORMAT}"', f"format_version = {FORMAT_VERSION}", ""]
        for part in ("device", "crossbar", "adc", "update"):
            if getattr(self, part) is None:
                continue
            src = self.sources.get(part)
            if src is None:
                raise ConfigError(f"cannot save the hardware description: its {part} model is an in-memory "
                                  f"object; save it to a file and build the hardware with from_files")
            table = {"preset": src.preset} if src.preset is not None else {
                "file": _relative(src.file, path.parent), "sha256": src.sha256}
            lines += _toml_table(part, table)
        tile = {k: ("none" if v is None else v) for k, v in dataclasses.asdict(self.tile).items()}
        lines += _toml_table("tile", tile)
        lines += _toml_table("compensation", _compensation_table(self.compensation))
        if self.energy is not None:
            lines += _toml_table("energy", self.energy.to_table(path.parent))
        if self.cell != UnitCell():
            lines += _toml_table("cell", _cell_table(self.cell))
        with atomic_output(path, suffix=".toml") as tmp:
            tmp.write_text("\n".join(lines))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, verify: bool = True) -> "AnalogHardware":
        """Read a hardware description written by :meth:`save` (or by hand). ``verify``: check every
        referenced file's SHA-256 and refuse a mismatch."""
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise InputFileError(path, "no such hardware description file") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputFileError(path, f"not a valid TOML file ({exc})") from None
        if data.get("format") != FORMAT:
            raise InputFileError(path, f"expected format = \"{FORMAT}\", found {data.get('format')!r}",
                                 field="format")
        if data.get("format_version") != FORMAT_VERSION:
            raise InputFileError(path, f"unsupported format_version {data.get('format_version')!r}; this "
                                       f"devicelab reads version {FORMAT_VERSION}", field="format_version")
        unknown = set(data) - {"format", "format_version", "device", "tile", "crossbar", "adc", "compensation",
                               "update", "energy", "cell"}
        if unknown:
            raise InputFileError(path, f"unknown tables/keys {sorted(unknown)}", field=sorted(unknown)[0])

        def ref(part: str) -> tuple[str | None, str | None]:
            table = data.get(part)
            if table is None:
                return None, None
            if not isinstance(table, dict) or set(table) - {"preset", "file", "sha256"}:
                raise InputFileError(path, "expected a table with preset = NAME or file = PATH (+ sha256)",
                                     field=part)
            if ("preset" in table) == ("file" in table):
                raise InputFileError(path, "give exactly one of preset or file", field=part)
            if "preset" in table:
                return None, str(table["preset"])
            file = Path(str(table["file"]))
            file = file if file.is_absolute() else path.parent / file
            if not file.is_file():
                raise InputFileError(path, f"referenced file {file} does not exist", field=f"{part}.file")
            if verify and "sha256" in table and sha256_file(file) != table["sha256"]:
                raise InputFileError(path, f"{file} has changed since the description was written (SHA-256 "
                                           f"differs); re-save the description or pass verify=False",
                                     field=f"{part}.sha256")
            return str(file), None

        device_file, device_preset = ref("device")
        crossbar_file, _ = ref("crossbar")
        adc_file, _ = ref("adc")
        update_file, update_preset = ref("update")
        try:
            tile = _tile_from_table(data.get("tile", {}))
            comp = _compensation_from_table(data.get("compensation", {"kind": "global"}))
        except (ConfigError, TypeError) as exc:
            raise InputFileError(path, str(exc), field="tile/compensation") from None
        try:
            cell = _cell_from_table(data.get("cell", {}))
        except (ConfigError, TypeError) as exc:
            raise InputFileError(path, str(exc), field="cell") from None
        hardware = cls.from_files(device_model=device_file, preset=device_preset, crossbar_model=crossbar_file,
                                  adc_model=adc_file, compensation=comp, tile=tile, update_model=update_file,
                                  update_preset=update_preset, cell=cell)
        if "energy" in data:
            from devicelab.inference.energy import EnergyModel

            hardware = dataclasses.replace(hardware, energy=EnergyModel.from_table(data["energy"], path, verify))
        return hardware


# ---------------------------------------------------------------------- helpers
def _members(protocol: type) -> list[str]:
    """Names a protocol requires (annotated attributes, methods and properties)."""
    names = set(getattr(protocol, "__annotations__", {}))
    names |= {n for n, v in vars(protocol).items() if callable(v) or isinstance(v, property)}
    return sorted(n for n in names if not n.startswith("_"))


def _load_parts(device_model, preset, crossbar_model, adc_model, update_model, update_preset):
    """(parts, sources) for the parts given as files or preset names; absent ones are left out."""
    from devicelab import behavioral, devices

    parts: dict[str, Any] = {}
    sources: dict[str, PartSource] = {}

    def from_file(part, loader, path):
        parts[part] = loader(path)
        sources[part] = PartSource(file=str(Path(path).resolve()), sha256=sha256_file(path))

    if preset is not None:
        parts["device"], sources["device"] = devices.preset(preset), PartSource(preset=preset)
    elif device_model is not None:
        from_file("device", devices.load_model, device_model)
    if crossbar_model is not None:
        from_file("crossbar", behavioral.load_crossbar_model, crossbar_model)
    if adc_model is not None:
        from_file("adc", behavioral.load_adc_model, adc_model)
    if update_preset is not None:
        parts["update"], sources["update"] = devices.update_preset(update_preset), PartSource(preset=update_preset)
    elif update_model is not None:
        from_file("update", devices.load_update_model, update_model)
    return parts, sources


def _relative(file: str | None, base: Path) -> str:
    try:
        return os.path.relpath(str(file), base.resolve())
    except ValueError:  # another drive (Windows)
        return str(file)


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        if any(c in value for c in '"\\\n'):
            raise ConfigError(f"cannot write {value!r} to a hardware description (quote, backslash or newline)")
        return f'"{value}"'
    raise ConfigError(f"cannot write a {type(value).__name__} to a hardware description")


def _toml_table(name: str, table: dict) -> list[str]:
    return [f"[{name}]"] + [f"{k} = {_toml_value(v)}" for k, v in table.items()] + [""]


def _tile_from_table(table: dict) -> AnalogConfig:
    if not isinstance(table, dict):
        raise ConfigError("[tile] must be a table")
    known = {f.name for f in dataclasses.fields(AnalogConfig)}
    unknown = set(table) - known
    if unknown:
        raise ConfigError(f"unknown tile settings {sorted(unknown)}; known: {sorted(known)}")
    values: dict[str, Any] = {k: (None if v == "none" else v) for k, v in table.items()}
    return AnalogConfig(**values)


_TRANSISTOR_FIELDS = ("v_gate", "vt0", "kp", "w", "l", "lambda_")


def _cell_table(cell: UnitCell) -> dict:
    """Flat [cell] table of a unit cell (TOML has no None: the transistor's fields only for 1T1R)."""
    data = cell.to_dict()
    transistor = data.pop("transistor")
    return data | (transistor or {})


def _cell_from_table(table: dict) -> UnitCell:
    if not isinstance(table, dict):
        raise ConfigError("[cell] must be a table")
    values = dict(table)
    known = {"cell", "devices_per_polarity", "significance", "scheme"} | set(_TRANSISTOR_FIELDS)
    unknown = set(values) - known
    if unknown:
        raise ConfigError(f"unknown unit-cell settings {sorted(unknown)}; known: {sorted(known)}")
    transistor = {k: values.pop(k) for k in _TRANSISTOR_FIELDS if k in values}
    if transistor:
        values["transistor"] = transistor
    return UnitCell.from_dict(values)


def _compensation_table(comp) -> dict:
    table = {"kind": comp.name}
    if dataclasses.is_dataclass(comp) and not isinstance(comp, type):
        table.update(dataclasses.asdict(comp))
    return table


def _compensation_from_table(table: dict):
    if not isinstance(table, dict) or "kind" not in table:
        raise ConfigError("[compensation] must be a table with kind = NAME")
    kind = table["kind"]
    if kind not in COMPENSATIONS:
        raise ConfigError(f"unknown drift compensation {kind!r}; expected one of {sorted(COMPENSATIONS)}")
    fields = {k: v for k, v in table.items() if k != "kind"}
    return COMPENSATIONS[kind](**fields)
