"""Periphery of an analog tile: row drivers (DAC), column integrators (sense), ADCs, digital post-processing.

Energy model of one MVM (every term in J; the array term comes from the circuit,
:mod:`devicelab.spice.crossbar.energy`):

- **DAC / row drivers**: each row line is a wire of capacitance ``c_row_line`` (F) = physical cells on the
  row x ``c_wire`` (F/m) x cell width. A driver is a linear voltage buffer on a rail ``v_supply`` (V; default
  the full-scale read voltage): it charges the line to |V_i| with charge C |V_i| drawn from the rail
  (``C v_supply |V_i|``, i.e. C V^2 at full scale; the same charge is dissipated when the line is reset), it
  passes the row current I_i from the rail, dissipating ``(v_supply - |V_i|) |I_i| t_read`` itself, and it
  draws a quiescent current ``driver_quiescent`` (A) from the rail while its row is active.
- **Sense**: each used physical column has an integrator (virtual ground) whose amplifier draws a bias
  current ``sense_bias`` (A) from ``v_dd`` for the read pulse, and whose output stage sinks the column
  charge |I_col| t_read from the virtual-ground level into its lower rail, ``v_sink`` (V) below it (default
  v_dd / 2: a single-supply integrator with a mid-rail virtual ground, whose row drivers are referenced to
  that level): ``(v_dd sense_bias + v_sink |I_col|) t_read``. The column lines stay at virtual ground, so
  they are not charged.
- **ADC**: one conversion per used logical column and row tile, at the energy per conversion and the
  conversion time of the SPICE characterization (:class:`~devicelab.behavioral.ADCModel`); a converter
  without them (the ideal quantizer) falls back to NeuroSim V1.3's SAR ADC formula (stated in the result).
- **Digital**: energy per operation from an :class:`~devicelab.behavioral.energy_table.EnergyTable`.

Latency of one MVM: the read pulse, then ``min(adc_sharing, columns)`` conversions per ADC (columns sharing
one ADC convert one after another), then the digital operations of one ADC's columns at the table's clock.

Area: cells ``cell_width_f x cell_height_f`` F^2 each (default 4 F x 12 F = 48 F^2, NeuroSim V1.3's 1T1R
cell), plus drivers, integrators, ADCs (transistor counts x transistor area from the table) and the digital
units (one per ADC, from the table).

Defaults and their sources: ``c_wire`` 0.2 fF/um (NeuroSim V1.3 SubArray.cpp, capRow = lengthRow x
0.2e-15/1e-6); ``t_read`` 10 ns (NeuroSim V1.3 readPulseWidth); ``feature_size`` 45 nm and ``v_dd`` 0.9 V
(the process of the shipped digital table, Horowitz ISSCC 2014); ``driver_quiescent`` and ``sense_bias``
1 uA and ``v_sink`` = v_dd / 2 (assumptions: low-power class-AB buffers and integrator amplifiers, mid-rail
virtual ground).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from devicelab.errors import ConfigError
from devicelab.spice.crossbar.energy import array_energy
from devicelab.spice.names import check_number

#: NeuroSim V1.3 SarADC.cpp, 45 nm LP: column power (2.1691 log2(levels) + 16.693) uW for (bits + 1) cycles.
NEUROSIM_SAR_45NM_LP = (2.1691e-6, 16.693e-6)
BREAKDOWN = ("array", "wires", "dac", "sense", "adc", "digital")
"""Energy categories of :class:`EnergyBreakdown`, in signal-chain order."""


@dataclass(frozen=True)
class PeripheryModel:
    """Periphery parameters of one tile (SI units; sources in the module docstring).

    Attributes
    ----------
    t_read : float
        Read pulse length (s).
    feature_size : float
        Feature size F (m).
    cell_width_f, cell_height_f : float
        Cell pitch along the row and along the column (in F); cell area = their product x F^2.
    c_wire : float
        Wire capacitance per length (F/m).
    v_supply : float or None
        Row driver rail (V); None: the tile's full-scale read voltage.
    driver_quiescent : float
        Quiescent current of an active row driver (A).
    v_dd : float
        Supply of the integrators (V).
    sense_bias : float
        Bias current of one column integrator during the read pulse (A).
    v_sink : float or None
        Voltage (V) from the virtual ground down to the rail the integrators sink the column charge into;
        None: v_dd / 2.
    adc_sharing : int
        Columns that share one ADC (converted one after another).
    """

    t_read: float = 10e-9
    feature_size: float = 45e-9
    cell_width_f: float = 12.0
    cell_height_f: float = 4.0
    c_wire: float = 0.2e-15 / 1e-6
    v_supply: float | None = None
    driver_quiescent: float = 1e-6
    v_dd: float = 0.9
    sense_bias: float = 1e-6
    v_sink: float | None = None
    adc_sharing: int = 1

    def __post_init__(self):
        for name in ("t_read", "feature_size", "cell_width_f", "cell_height_f", "c_wire", "v_dd"):
            check_number(getattr(self, name), f"PeripheryModel.{name}", positive=True)
        if self.v_supply is not None:
            check_number(self.v_supply, "PeripheryModel.v_supply (V)", positive=True)
        if self.v_sink is not None:
            check_number(self.v_sink, "PeripheryModel.v_sink (V)", minimum=0.0)
        for name in ("driver_quiescent", "sense_bias"):
            check_number(getattr(self, name), f"PeripheryModel.{name} (A)", minimum=0.0)
        sharing = self.adc_sharing
        if isinstance(sharing, bool) or not isinstance(sharing, int) or sharing < 1:
            raise ConfigError(f"PeripheryModel.adc_sharing: expected an integer >= 1 (columns per ADC), got {sharing!r}")

    @property
    def cell_area(self) -> float:
        """Area of one cell (m^2)."""
        return self.cell_width_f * self.cell_height_f * self.feature_size**2

    @property
    def c_row_per_cell(self) -> float:
        """Row-line capacitance per cell crossed (F): c_wire x cell width."""
        return self.c_wire * self.cell_width_f * self.feature_size

    @property
    def c_col_per_cell(self) -> float:
        """Column-line capacitance per cell crossed (F): c_wire x cell height."""
        return self.c_wire * self.cell_height_f * self.feature_size

    def rail(self, v_read: float) -> float:
        """Row driver rail (V) for a tile whose full-scale read voltage is ``v_read``."""
        return float(v_read) if self.v_supply is None else float(self.v_supply)

    def to_dict(self) -> dict:
        """Fields by name (SI units)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class ADCCosts:
    """Energy per conversion (J), conversion time (s) and resolution of the tile ADC, with their ``source``."""

    energy: float
    time: float
    bits: int
    source: str


def adc_costs(adc_model, bits: int, clock_frequency: float) -> ADCCosts:
    """Conversion energy and time of ``adc_model`` (an ADC with ``energy_per_conversion`` and ``t_conversion``
    from its SPICE characterization), or, when it is None or lacks them, of a ``bits``-bit SAR ADC by
    NeuroSim V1.3's formula at 45 nm LP (``bits + 1`` cycles of ``clock_frequency`` Hz)."""
    energy = float(getattr(adc_model, "energy_per_conversion", math.nan))
    time = float(getattr(adc_model, "t_conversion", math.nan))
    if adc_model is not None:
        bits = int(adc_model.bits)
    if math.isfinite(energy) and math.isfinite(time):
        return ADCCosts(energy, time, bits, "SPICE characterization of the ADC model")
    per_bit, base = NEUROSIM_SAR_45NM_LP
    time = (bits + 1) / clock_frequency
    return ADCCosts((per_bit * bits + base) * time, time, bits,
                    f"NeuroSim V1.3 SAR ADC formula, 45 nm LP, {bits} bits (no SPICE energy in the ADC model)")


@dataclass(frozen=True)
class EnergyBreakdown:
    """Energy (J) split into ``array`` (cells), ``wires``, ``dac`` (row lines and drivers), ``sense``
    (column integrators), ``adc`` and ``digital``; values may be floats or arrays of equal shape."""

    array: object = 0.0
    wires: object = 0.0
    dac: object = 0.0
    sense: object = 0.0
    adc: object = 0.0
    digital: object = 0.0

    @property
    def total(self):
        """Sum of all categories (J)."""
        return sum(getattr(self, name) for name in BREAKDOWN)

    def __add__(self, other: EnergyBreakdown) -> EnergyBreakdown:
        return EnergyBreakdown(*(getattr(self, n) + getattr(other, n) for n in BREAKDOWN))

    def scaled(self, factor: float) -> EnergyBreakdown:
        """Every category times ``factor``."""
        return EnergyBreakdown(*(getattr(self, n) * factor for n in BREAKDOWN))

    def to_dict(self) -> dict:
        """Category -> float (J), plus ``total``."""
        out = {name: float(getattr(self, name)) for name in BREAKDOWN}
        out["total"] = float(self.total)
        return out


def dac_energy(model: PeripheryModel, v_read: float, c_row_line: float, sum_abs_v, sum_abs_i, source_power,
               n_driver_reads):
    """Row line and driver energy (J) of a set of MVMs.

    ``c_row_line`` (F) per row line; sums over rows (and MVMs): ``sum_abs_v`` = sum |V_i| (V), ``sum_abs_i`` =
    sum |I_i| (A), ``source_power`` = sum V_i I_i (W); ``n_driver_reads`` = drivers x MVMs.
    """
    rail = model.rail(v_read)
    line = c_row_line * rail * sum_abs_v
    conduction = model.t_read * (rail * sum_abs_i - source_power)
    quiescent = model.t_read * rail * model.driver_quiescent * n_driver_reads
    return line + conduction + quiescent


def sense_energy(model: PeripheryModel, n_column_reads, sum_abs_column_current):
    """Integrator energy (J): bias of ``n_column_reads`` column integrations (columns x MVMs) from ``v_dd`` and
    the summed column currents |I_col| (A) sunk ``v_sink`` below the virtual ground, during ``t_read``."""
    v_sink = 0.5 * model.v_dd if model.v_sink is None else model.v_sink
    return model.t_read * (model.v_dd * model.sense_bias * n_column_reads + v_sink * sum_abs_column_current)


def mvm_latency(model: PeripheryModel, adc: ADCCosts, columns: int, digital_ops_per_adc: float,
                clock_frequency: float) -> dict:
    """Latency (s) of one MVM of a tile with ``columns`` converted columns: ``read`` pulse, ``adc`` (the
    columns of one ADC one after another), ``digital`` (``digital_ops_per_adc`` operations of one ADC's columns,
    one per clock cycle), and their ``total``."""
    read = model.t_read
    conversion = min(model.adc_sharing, columns) * adc.time
    digital = math.ceil(digital_ops_per_adc) / clock_frequency
    return {"read": read, "adc": conversion, "digital": digital, "total": read + conversion + digital}


def tile_area(model: PeripheryModel, table, rows: int, physical_cols: int, converted_cols: int, bits: int) -> dict:
    """Area (m^2) of one tile by part: ``cells``, ``drivers`` (one per row), ``sense`` (one integrator per
    physical column), ``adc`` (ceil(converted_cols / adc_sharing) ADCs of ``bits`` bits) and ``digital`` (one
    unit of every table operation per ADC), plus ``total``."""
    n_adcs = math.ceil(converted_cols / model.adc_sharing)
    parts = {
        "cells": rows * physical_cols * model.cell_area,
        "drivers": rows * table.driver_transistors * table.transistor_area,
        "sense": physical_cols * table.sense_transistors * table.transistor_area,
        "adc": n_adcs * table.adc_area(bits),
        "digital": n_adcs * sum(op.area for op in table.operations.values()),
    }
    parts["total"] = sum(parts.values())
    return parts


def tile_mvm_energy(spec, g, v, v_read: float, model: PeripheryModel, table, adc_model=None,
                    last_layer: bool = False):
    """Energy (J per input vector) of MVMs on one crossbar tile, array and wires from its circuit.

    ``spec`` is a :class:`~devicelab.spice.crossbar.CrossbarSpec` with conductances ``g`` (S) and input
    vectors ``v`` (V, (n_vectors, rows)); the array energy comes from the nodal solution
    (:func:`~devicelab.spice.crossbar.energy.array_energy` with ``model.t_read``): ``array`` = cells (devices
    and access transistors), ``wires`` = row and column segments; the driver and sense resistances count in
    ``dac`` and ``sense``. One conversion per logical column; digital: scale, bias and (unless
    ``last_layer``) activation per column. ``v_read`` (V) is the full-scale input. Returns
    (:class:`EnergyBreakdown` of (n_vectors,) arrays, the :class:`~devicelab.spice.crossbar.energy.ArrayEnergy`).
    """
    check_number(v_read, "v_read (V)", positive=True)
    circuit = array_energy(spec, g, v, model.t_read)
    v = np.atleast_2d(np.asarray(v, dtype=np.float64))
    c_row_line = spec.physical_cols * model.c_row_per_cell
    dac = dac_energy(model, v_read, c_row_line, np.abs(v).sum(axis=1), np.abs(circuit.row_currents).sum(axis=1),
                     circuit.source / model.t_read, spec.rows) + circuit.drivers
    sense = sense_energy(model, spec.physical_cols, np.abs(circuit.column_currents).sum(axis=1)) + circuit.senses
    if adc_model is None:
        raise ConfigError("tile_mvm_energy: adc_model is required (an ADCModel, or ideal_adc(bits, ...))")
    adc = adc_costs(adc_model, adc_model.bits, table.clock_frequency).energy * spec.cols
    ops = ("scale", "bias") + (() if last_layer else ("activation",))
    digital = spec.cols * sum(table.energy(op) for op in ops)
    n = v.shape[0]
    breakdown = EnergyBreakdown(circuit.cells, circuit.wires, dac, sense, np.full(n, adc), np.full(n, digital))
    return breakdown, circuit
