"""Energy, latency and area of a network on analog tiles, from the activations it really applies.

An :class:`EnergyMeter` is the ``mvm`` of :meth:`Network.forward` in front of an analog read state: for every
weight layer it records, per tile row, the sums over MVMs of V_i^2, |V_i| and of the active rows of the DAC
voltages it applies (O(batch x rows) per call, against O(batch x rows x cols) for the product itself), plus a
few activation vectors for calibration, then hands the product to the state unchanged. :func:`layer_energy`
turns the sums into energy by part (J):

- **array** and **wires**: the source energy of the tiles, t_read sum_i V_i I_i, with the row currents of
  the ideal tile I_i = V_i sum_j (G+_ij + G-_ij) at the read time (drifted conductances; read noise
  averages out). With a crossbar model (IR drop) this *ideal-current model* is calibrated per layer against
  the exact nodal solution of the same circuit (:func:`~devicelab.spice.crossbar.energy.array_energy`):
  on the first tile of each tile shape of the layer and up to ``calibration_vectors`` recorded activation
  vectors, the ratio nodal / ideal source energy scales the energy and the row currents of the tiles of that
  shape, and the nodal split gives the fractions dissipated in the wires and the driver/sense resistances. The
  result records the ideal model's error before calibration and the
  calibrated model's residual per vector (``calibration``). Without a crossbar model the tile has no wire
  resistance and the ideal currents are the circuit's (error 0).
- **dac**, **sense**, **adc**, **digital**: the periphery model (:mod:`devicelab.behavioral.periphery`); one
  conversion per used column and tile row; digital operations per MVM: ``scale`` (one per conversion),
  ``accumulate`` ((tile rows - 1) per output), ``bias`` (one per output: bias or BatchNorm shift) and
  ``activation`` (one per output of every weight layer but the last). The reads that drift compensation
  sends through the tiles once per read time are not counted (amortized over the inferences).

Latency: the tiles of a layer work in parallel; one MVM takes the read pulse, the conversions of one ADC's
columns and the digital operations of one ADC's share, one per clock cycle; the MVMs of a layer (conv
patches) and the layers run one after another (no pipelining). Throughput figures count **2 operations per
multiply-accumulate** (MAC): TOPS/W = 2 x MACs / energy / 1e12.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from devicelab.behavioral.energy_table import (
    DEFAULT_TABLE,
    EnergyTable,
    load_energy_table,
)
from devicelab.behavioral.periphery import (
    BREAKDOWN,
    ADCCosts,
    EnergyBreakdown,
    PeripheryModel,
    adc_costs,
    dac_energy,
    mvm_latency,
    sense_energy,
    tile_area,
)
from devicelab.errors import ConfigError, InputFileError
from devicelab.files import sha256_file
from devicelab.network.layers import Conv2d

OPS_PER_MAC = 2


@dataclass(frozen=True)
class EnergyModel:
    """Periphery and digital costs used with an analog hardware description.

    ``periphery``: :class:`~devicelab.behavioral.periphery.PeripheryModel` (t_read, wire capacitance, drivers,
    integrators, ADC sharing, cell pitch); ``table``: energy per digital operation and periphery areas
    (default: the shipped 45 nm table); ``calibration_vectors``: activation vectors per layer for the nodal
    calibration of the array energy when the hardware has a crossbar model (0: ideal-current model only).
    """

    periphery: PeripheryModel = field(default_factory=PeripheryModel)
    table: EnergyTable = field(default_factory=load_energy_table)
    calibration_vectors: int = 4

    def __post_init__(self):
        if not isinstance(self.periphery, PeripheryModel):
            raise ConfigError(f"EnergyModel.periphery: expected a PeripheryModel, got {type(self.periphery).__name__}")
        if not isinstance(self.table, EnergyTable):
            raise ConfigError(f"EnergyModel.table: expected an EnergyTable, got {type(self.table).__name__}")
        n = self.calibration_vectors
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ConfigError(f"EnergyModel.calibration_vectors: expected an integer >= 0, got {n!r}")

    def to_table(self, folder: Path) -> dict:
        """The ``[energy]`` table of a hardware description written to ``folder``: periphery fields (SI units,
        "none" for None), ``calibration_vectors``, and the table as ``table = "<shipped name>"`` or
        ``table_file`` (relative to ``folder``) + ``table_sha256``."""
        out = {k: ("none" if v is None else v) for k, v in self.periphery.to_dict().items()}
        out["calibration_vectors"] = self.calibration_vectors
        path = Path(self.table.path) if self.table.path else None
        shipped = load_energy_table()
        if path is None or (path.name == Path(shipped.path).name and sha256_file(path) == sha256_file(shipped.path)):
            out["table"] = DEFAULT_TABLE
        else:
            try:
                out["table_file"] = os.path.relpath(path.resolve(), Path(folder).resolve())
            except ValueError:  # another drive (Windows)
                out["table_file"] = str(path)
            out["table_sha256"] = sha256_file(path)
        return out

    @classmethod
    def from_table(cls, table: dict, path: str | os.PathLike, verify: bool = True) -> EnergyModel:
        """Inverse of :meth:`to_table` for the hardware description ``path`` (relative files are relative to its
        folder); InputFileError naming the field on bad input."""
        path = Path(path)
        if not isinstance(table, dict):
            raise InputFileError(path, "[energy] must be a table", field="energy")
        values: dict[str, Any] = {k: (None if v == "none" else v) for k, v in table.items()}
        name, file, digest = values.pop("table", None), values.pop("table_file", None), values.pop("table_sha256", None)
        calibration: int = values.pop("calibration_vectors", 4)  # checked by EnergyModel.__post_init__
        known = {f.name for f in fields(PeripheryModel)}
        unknown = set(values) - known
        if unknown:
            raise InputFileError(path, f"unknown energy settings {sorted(unknown)}; known: {sorted(known)}",
                                 field=f"energy.{min(unknown)}")
        if file is not None:
            file = Path(file) if Path(file).is_absolute() else path.parent / file
            if verify and digest is not None and sha256_file(file) != digest:
                raise InputFileError(path, f"{file} has changed since the description was written (SHA-256 differs)",
                                     field="energy.table_sha256")
            energy_table = load_energy_table(file)
        elif name in (None, DEFAULT_TABLE):
            energy_table = load_energy_table()
        else:
            raise InputFileError(path, f"unknown shipped energy table {name!r}; expected {DEFAULT_TABLE!r} or "
                                       "table_file = PATH", field="energy.table")
        try:
            return cls(PeripheryModel(**values), energy_table, calibration)
        except (ConfigError, TypeError) as exc:
            raise InputFileError(path, str(exc), field="energy") from None


def _abs(x: np.ndarray) -> np.ndarray:
    """|x| without a copy when x has no negative entry (activations after ReLU)."""
    return x if x.size == 0 or x.min() >= 0 else np.abs(x)


class _LayerStats:
    """Running sums over the MVMs of one layer, per tile row input (DAC level units): ``sum_sq`` = sum of x^2,
    ``sum_abs`` = sum of |x|, ``n_mvm`` MVMs, and a few input vectors (``samples``) for calibration.

    Conv layers are summed on the encoded activation before im2col (:meth:`add_conv`): every im2col row
    entry (kh, kw, c) is one activation, so its sums over the output positions are window sums of the
    per-pixel sums over the batch, at 1/(kh kw) of the cost of summing the patch matrix.
    """

    def __init__(self, rows: int, keep: int):
        self.n_mvm = 0
        self.sum_sq = np.zeros(rows)
        self.sum_abs = np.zeros(rows)
        self.keep = keep
        self.samples: list[np.ndarray] = []

    def add(self, x2d: np.ndarray) -> None:
        """Sums of the MVM inputs ``x2d`` (batch, rows)."""
        self.sum_sq += np.einsum("ki,ki->i", x2d, x2d)
        self.sum_abs += np.einsum("ki->i", _abs(x2d))
        self.count(x2d)

    def count(self, x2d: np.ndarray) -> None:
        """Count the MVMs of ``x2d`` and keep calibration samples spread over the batch (corner patches of
        one image are not typical)."""
        self.n_mvm += x2d.shape[0]
        have = sum(len(s) for s in self.samples)
        if have < self.keep:  # non-zero inputs only (image backgrounds give all-zero patches)
            active = np.flatnonzero(np.any(x2d != 0, axis=1))
            step = max(1, active.size // (self.keep - have))
            self.samples.append(np.array(x2d[active[::step][:self.keep - have]], dtype=np.float64))

    def add_conv(self, layer, x_q: np.ndarray) -> None:
        """Sums of the im2col rows of conv ``layer`` for its encoded NHWC input ``x_q`` (without counting MVMs)."""
        _, h, w, channels = x_q.shape
        _, _, kh, kw = layer.weight.shape
        pad, stride = layer.padding, layer.stride
        ho, wo = (h + 2 * pad - kh) // stride + 1, (w + 2 * pad - kw) // stride + 1
        for total, pixel in ((self.sum_sq, np.einsum("nhwc,nhwc->hwc", x_q, x_q)),
                             (self.sum_abs, np.einsum("nhwc->hwc", _abs(x_q)))):
            padded = np.pad(pixel.astype(np.float64), ((pad, pad), (pad, pad), (0, 0)))
            for i in range(kh):
                for j in range(kw):
                    window = padded[i:i + stride * (ho - 1) + 1:stride, j:j + stride * (wo - 1) + 1:stride]
                    start = (i * kw + j) * channels
                    total[start:start + channels] += window.sum(axis=(0, 1))


class EnergyMeter:
    """The ``mvm`` of :meth:`Network.forward` that records the DAC voltages of every weight layer and
    delegates the encoding and the product to ``state`` (an analog read state with ``encode_input`` and
    ``__call__``)."""

    def __init__(self, state, calibration_vectors: int = 4):
        self.state = state
        self.calibration_vectors = calibration_vectors
        self.stats: dict[str, _LayerStats] = {}
        self.n_images = 0
        self.elapsed = 0.0

    def _stats(self, layer) -> _LayerStats:
        stats = self.stats.get(layer.name)
        if stats is None:
            stats = self.stats[layer.name] = _LayerStats(layer.matrix.shape[0], self.calibration_vectors)
        return stats

    def encode_input(self, layer, x):
        """DAC encoding of the state; conv inputs are summed here, before im2col."""
        x_q = self.state.encode_input(layer, x)
        if isinstance(layer, Conv2d):
            start = time.perf_counter()
            self._stats(layer).add_conv(layer, x_q)
            self.elapsed += time.perf_counter() - start
        return x_q

    def __call__(self, layer, x2d):
        start = time.perf_counter()
        stats = self._stats(layer)
        if isinstance(layer, Conv2d):
            stats.count(x2d)
        else:
            stats.add(x2d)
        self.elapsed += time.perf_counter() - start
        return self.state(layer, x2d)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Logits of images ``x`` (N, C, H, W) through the state's network, counting the images."""
        self.n_images += x.shape[0]
        return self.state.network.forward(x, self)


@dataclass(frozen=True)
class LayerEnergy:
    """Energy, latency and area of one weight layer per inference (one image).

    ``energy``: :class:`EnergyBreakdown` (J per image); ``macs``: multiply-accumulates per image;
    ``mvms``: MVMs per image; ``tiles``: (row tiles, column tiles); ``latency_mvm``: read/adc/digital/total
    (s) of one MVM; ``latency``: s per image; ``area``: m^2 by part (all tiles of the layer);
    ``calibration``: the array-energy method and its measured error against the nodal solver.
    """

    name: str
    energy: EnergyBreakdown
    macs: float
    mvms: float
    tiles: tuple[int, int]
    latency_mvm: dict
    latency: float
    area: dict
    calibration: dict

    def to_dict(self) -> dict:
        return {"name": self.name, "energy_J": self.energy.to_dict(), "macs": self.macs, "mvms": self.mvms,
                "tiles": list(self.tiles), "latency_mvm_s": self.latency_mvm, "latency_s": self.latency,
                "area_m2": self.area, "calibration": self.calibration}


@dataclass(frozen=True)
class NetworkEnergy:
    """Energy per inference of a network on analog tiles (see the module docstring).

    ``layers``: :class:`LayerEnergy` in execution order; ``adc``: the ADC costs used; ``n_images``: images the
    activations were recorded on; ``t``: read time (s); ``accuracy`` (or None); ``settings``: the tile,
    periphery and table settings; ``meter_time``/``calibration_time`` (s): cost of the accounting itself.
    """

    layers: tuple[LayerEnergy, ...]
    adc: ADCCosts
    n_images: int
    t: float
    accuracy: float | None
    settings: dict
    meter_time: float = 0.0
    calibration_time: float = 0.0

    @property
    def energy(self) -> EnergyBreakdown:
        """Energy per inference by part (J), summed over the layers."""
        total = EnergyBreakdown()
        for layer in self.layers:
            total = total + layer.energy
        return total

    @property
    def macs(self) -> float:
        """Multiply-accumulates per inference."""
        return float(sum(layer.macs for layer in self.layers))

    @property
    def latency(self) -> float:
        """Latency of one inference (s), layers one after another."""
        return float(sum(layer.latency for layer in self.layers))

    @property
    def tops_per_watt(self) -> float:
        """Tera-operations per second per watt, 2 operations per MAC: 2 MACs / energy / 1e12."""
        return OPS_PER_MAC * self.macs / self.energy.total / 1e12

    @property
    def area(self) -> float:
        """Area of all tiles with their periphery (m^2)."""
        return float(sum(layer.area["total"] for layer in self.layers))

    def to_dict(self) -> dict:
        """JSON-ready summary (SI units, stated in the keys)."""
        return {"format": "devicelab.network_energy", "format_version": 1, "ops_per_mac": OPS_PER_MAC,
                "n_images": self.n_images, "read_time_s": self.t, "accuracy": self.accuracy,
                "energy_per_inference_J": self.energy.to_dict(), "macs_per_inference": self.macs,
                "latency_per_inference_s": self.latency, "tops_per_watt": self.tops_per_watt,
                "area_m2": self.area, "adc": {"energy_J": self.adc.energy, "time_s": self.adc.time,
                                              "bits": self.adc.bits, "source": self.adc.source},
                "settings": self.settings, "meter_time_s": self.meter_time,
                "calibration_time_s": self.calibration_time, "layers": [l.to_dict() for l in self.layers]}

    def report(self) -> str:
        """Plain-text table: energy per inference by layer and part, latency, TOPS/W."""
        head = f"{'layer':<14}" + "".join(f"{n:>11}" for n in BREAKDOWN) + f"{'total':>11}{'latency':>11}"
        title = (f"energy per inference (J) at t = {self.t:g} s over {self.n_images} images; "
                 f"ADC: {self.adc.bits} bits, {self.adc.energy:.3g} J/conversion ({self.adc.source})")
        lines = [title, head]
        for layer in self.layers + (None,):
            name, e, lat = ((layer.name, layer.energy, layer.latency) if layer is not None
                            else ("total", self.energy, self.latency))
            lines.append(f"{name:<14}" + "".join(f"{getattr(e, n):>11.3e}" for n in BREAKDOWN)
                         + f"{e.total:>11.3e}{lat:>10.3e}s")
        lines.append(f"{self.macs:.4g} MACs per inference; {self.tops_per_watt:.3g} TOPS/W (2 operations per MAC); "
                     f"area {self.area * 1e6:.3g} mm^2")
        cal = [l.calibration for l in self.layers if l.calibration.get("method") == "nodal-calibrated"]
        if cal:
            before = max(c["ideal_error"] for c in cal)
            after = max(c["calibrated_error"] for c in cal)
            lines.append(f"array energy: ideal currents calibrated against the nodal solver per layer; error of "
                         f"the ideal model up to {before:.3g}, of the calibrated model up to {after:.3g} (per vector)")
        else:
            lines.append("array energy: ideal tile currents (no crossbar model: no wire resistance)")
        return "\n".join(lines)


def _dac_levels(tile) -> float:
    """DAC levels per polarity of the engine's input encoding (1 when the DAC is off or exact)."""
    return float(max(2 ** (tile.dac_bits - 1) - 1, 1)) if tile.enabled("dac") else 1.0


def _calibrate(crossbar_model, g_plus, g_minus, samples_v, t_read) -> dict:
    """Nodal / ideal source energy of one tile (G+, G- in S) for the sample voltages (V) of its rows."""
    from devicelab.spice.crossbar.energy import array_energy

    rows, cols = g_plus.shape
    circuit = getattr(crossbar_model, "circuit", None)  # optional: a CrossbarModelLike need not describe it
    if circuit is None or not hasattr(circuit, "spec"):
        return {"method": "ideal", "reason": "the crossbar model does not describe its circuit (no .circuit.spec)"}
    if circuit.differential:
        pairs = [(circuit.spec(rows, cols), np.stack([g_plus, g_minus]))]
    else:
        pairs = [(circuit.spec(rows, cols), g_plus), (circuit.spec(rows, cols), g_minus)]
    zero = np.zeros(len(samples_v))  # J per calibration vector, summed over the arrays of the tile
    source, wires, drivers, senses = zero, zero, zero, zero
    for spec, g in pairs:
        e = array_energy(spec, g, samples_v, t_read)
        source, wires = source + e.source, wires + e.wires
        drivers, senses = drivers + e.drivers, senses + e.senses
    ideal = t_read * (samples_v**2) @ (g_plus + g_minus).sum(axis=1)
    used = ideal > 0
    if not np.any(used):
        return {"method": "ideal", "reason": "no non-zero calibration input"}
    ratio = float(source[used].sum() / ideal[used].sum())
    return {"method": "nodal-calibrated", "ratio": ratio, "n_vectors": int(used.sum()), "tile": [rows, cols],
            "wire_fraction": float(wires[used].sum() / source[used].sum()),
            "driver_fraction": float(drivers[used].sum() / source[used].sum()),
            "sense_fraction": float(senses[used].sum() / source[used].sum()),
            "ideal_error": float(np.max(np.abs(ideal[used] - source[used]) / source[used])),
            "calibrated_error": float(np.max(np.abs(ratio * ideal[used] - source[used]) / source[used]))}


def layer_energy(name: str, stats: _LayerStats, n_images: int, programmed, tile, g_read, energy_model: EnergyModel,
                 adc: ADCCosts, last: bool, has_bias_or_norm: bool = True, crossbar_model=None) -> LayerEnergy:
    """:class:`LayerEnergy` of one layer from its recorded sums (see the module docstring).

    ``programmed`` has ``tiling`` (row/column blocks); ``tile`` the tile settings (tile_rows, tile_cols,
    v_read, dac, dac_bits); ``g_read`` = (G+, G-) conductances (S) at the read time.
    """
    periphery, table = energy_model.periphery, energy_model.table
    tiling = programmed.tiling
    g_plus, g_minus = (np.asarray(g) for g in g_read)
    n_devices = 1
    if g_plus.ndim == 3:  # a unit cell of N devices per polarity, (N, rows, cols): N adjacent physical columns
        n_devices = g_plus.shape[0]
        if n_devices > 1:
            # Every device sees the row voltage: the array power is that of the summed conductances. The
            # circuit calibration is per single-device tile layout, so it is not applied here.
            crossbar_model = None
        g_plus, g_minus = g_plus.sum(axis=0), g_minus.sum(axis=0)
    n_rb, n_cb = len(tiling.row_blocks), len(tiling.col_blocks)
    rows, cols = g_plus.shape
    to_volts = tile.v_read / _dac_levels(tile)
    per_image = 1.0 / n_images
    t_read = periphery.t_read
    calibrate = crossbar_model is not None and energy_model.calibration_vectors > 0 and bool(stats.samples)
    samples = np.concatenate(stats.samples) * to_volts if calibrate else None
    shapes: dict[tuple[int, int], dict] = {}
    power = sum_abs_i = source = 0.0
    parts = {"wire": 0.0, "driver": 0.0, "sense": 0.0}  # J dissipated in the wires, driver and sense resistors
    for rb in tiling.row_blocks:
        for cb in tiling.col_blocks:
            g_rows = (g_plus[rb, cb] + g_minus[rb, cb]).sum(axis=1, dtype=np.float64)
            tile_power = to_volts**2 * float(stats.sum_sq[rb] @ g_rows)  # sum over MVMs of sum_i V_i I_i (W)
            shape = (rb.stop - rb.start, cb.stop - cb.start)
            if samples is not None and shape not in shapes:  # samples is None unless calibrating
                shapes[shape] = _calibrate(crossbar_model, g_plus[rb, cb], g_minus[rb, cb], samples[:, rb], t_read)
            cal = shapes.get(shape, {})
            ratio = cal.get("ratio", 1.0)
            power += tile_power * ratio
            sum_abs_i += to_volts * float(stats.sum_abs[rb] @ g_rows) * ratio
            for part in parts:
                parts[part] += t_read * tile_power * ratio * cal.get(f"{part}_fraction", 0.0)
    source = t_read * power
    calibration: dict[str, Any] = {"method": "ideal", "reason": "no crossbar model: tiles without wire resistance"}
    if shapes:
        calibrated = [c for c in shapes.values() if c.get("method") == "nodal-calibrated"]
        calibration = {"method": "nodal-calibrated" if calibrated else "ideal", "tiles": list(shapes.values())}
        if calibrated:
            calibration["ideal_error"] = max(c["ideal_error"] for c in calibrated)
            calibration["calibrated_error"] = max(c["calibrated_error"] for c in calibrated)
    # a row crosses the G+ and G- columns (N devices each in multi-device unit cells) of every column tile
    c_line = n_cb * 2 * n_devices * tile.tile_cols * periphery.c_row_per_cell
    n_drivers = n_cb * rows * stats.n_mvm  # driver reads: one driver per row and column tile, biased every read
    dac = dac_energy(periphery, tile.v_read, c_line, to_volts * float(stats.sum_abs.sum()), sum_abs_i, power,
                     n_drivers) + parts["driver"]
    # one sense and one conversion per physical column (N per polarity in multi-device unit cells)
    sense = sense_energy(periphery, stats.n_mvm * n_rb * 2 * cols * n_devices, sum_abs_i) + parts["sense"]
    conversions = stats.n_mvm * n_rb * cols * n_devices
    ops = {"scale": n_rb * cols, "accumulate": (n_rb - 1) * cols, "bias": cols if has_bias_or_norm else 0,
           "activation": 0 if last else cols}
    digital = stats.n_mvm * sum(count * table.energy(op) for op, count in ops.items())
    array = source - parts["wire"] - parts["driver"] - parts["sense"]
    energy = EnergyBreakdown(array=array, wires=parts["wire"], dac=dac,
                             sense=sense, adc=conversions * adc.energy, digital=digital).scaled(per_image)
    n_adcs = n_rb * sum(math.ceil((c.stop - c.start) / periphery.adc_sharing) for c in tiling.col_blocks)
    latency_mvm = mvm_latency(periphery, adc, min(tile.tile_cols, cols), sum(ops.values()) / n_adcs,
                              table.clock_frequency)
    mvms = stats.n_mvm * per_image
    area_tile = tile_area(periphery, table, tile.tile_rows, 2 * n_devices * tile.tile_cols,
                          n_devices * tile.tile_cols, adc.bits)
    area = {k: v * n_rb * n_cb for k, v in area_tile.items()}
    return LayerEnergy(name, energy, mvms * rows * cols, mvms, (n_rb, n_cb), latency_mvm,
                       mvms * latency_mvm["total"], area, calibration)


def energy_from_meter(meter: EnergyMeter, analog, t: float, energy_model: EnergyModel,
                      accuracy: float | None = None) -> NetworkEnergy:
    """:class:`NetworkEnergy` from a meter that ran images through a read state of ``analog`` at ``t`` (s)."""
    if meter.n_images < 1 or not meter.stats:
        raise ConfigError("energy: the meter has seen no images; run images through it first")
    hardware = analog.hardware
    tile = hardware.tile
    if hardware.adc is None and tile.adc_bits is None:
        raise ConfigError("energy: an exact ADC (adc_bits none) has no conversion energy; give an ADC model "
                          "(--adc-model) or a resolution (--adc-bits)")
    adc = adc_costs(hardware.adc, tile.adc_bits, energy_model.table.clock_frequency)
    device = hardware.require_device()
    weight_layers = [l for l in analog.network.weight_layers() if l.name in meter.stats]
    has_norm = bool(analog.network.batchnorm_layers())
    start = time.perf_counter()
    layers = []
    for index, layer in enumerate(weight_layers):
        pl = analog.layers[layer.name]
        g_read = tuple(device.drift(g, nu, t) for g, nu in ((pl.g_plus, pl.nu_plus),
                                                                           (pl.g_minus, pl.nu_minus)))
        layers.append(layer_energy(layer.name, meter.stats[layer.name], meter.n_images, pl, tile, g_read,
                                   energy_model, adc, last=index == len(weight_layers) - 1,
                                   has_bias_or_norm=layer.bias is not None or has_norm,
                                   crossbar_model=hardware.crossbar if hardware.ir_drop else None))
    circuit = getattr(hardware.crossbar, "circuit", None)
    settings = {"tile": {k: getattr(tile, k) for k in ("tile_rows", "tile_cols", "v_read", "dac_bits", "adc_bits")},
                "periphery": energy_model.periphery.to_dict(),
                "table": {"name": energy_model.table.name, "source": energy_model.table.source,
                          "path": energy_model.table.path},
                "crossbar": None if circuit is None else {k: getattr(circuit, k) for k in
                                                          ("r_row", "r_col", "r_driver", "r_sense", "device", "v0",
                                                           "differential")}}
    return NetworkEnergy(tuple(layers), adc, meter.n_images, float(t), accuracy, settings, meter.elapsed,
                         time.perf_counter() - start)


def metered_run(analog, state, x: np.ndarray, y: np.ndarray | None, t: float, energy_model: EnergyModel,
                batch_size: int = 500) -> tuple[float | None, NetworkEnergy]:
    """Run images ``x`` through read ``state`` of ``analog`` (read at ``t`` s) with an :class:`EnergyMeter`;
    returns (accuracy on labels ``y``, or None without labels; :class:`NetworkEnergy`)."""
    logits, meter = metered_logits(state, x, energy_model, batch_size)
    accuracy = float(np.mean(logits.argmax(axis=1) == y)) if y is not None else None
    return accuracy, energy_from_meter(meter, analog, t, energy_model, accuracy)


def metered_logits(state, x: np.ndarray, energy_model: EnergyModel, batch_size: int = 500):
    """Logits (N, classes) of images ``x`` run through read ``state`` with an :class:`EnergyMeter`, and the
    meter (turn it into energies with :func:`energy_from_meter`)."""
    meter = EnergyMeter(state, energy_model.calibration_vectors)
    logits = state.network.logits(x, meter, batch_size)
    meter.n_images = len(x)
    return logits, meter


def network_energy(analog, x: np.ndarray, t: float, rng: np.random.Generator, energy_model: EnergyModel | None = None,
                   y: np.ndarray | None = None, batch_size: int = 500) -> NetworkEnergy:
    """Energy per inference of ``analog`` (an :class:`~devicelab.inference.AnalogNetwork`) read at ``t`` (s)
    on images ``x`` (N, C, H, W); with labels ``y`` also the accuracy of the same run. ``rng`` draws the read.
    ``energy_model`` defaults to the hardware's (``analog.hardware.energy``), else :class:`EnergyModel`()."""
    energy_model = energy_model or analog.hardware.energy or EnergyModel()
    return metered_run(analog, analog.read_at(t, rng), x, y, t, energy_model, batch_size)[1]
