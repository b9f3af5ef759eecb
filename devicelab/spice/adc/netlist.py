"""SAR and single-slope (ramp) ADC netlists for transient simulation in ngspice.

Both converters run many conversions in one ``.tran`` analysis: the input is a piecewise-linear source
that steps to a new value at the start of every conversion period, so ngspice parses and orders the
matrix once for a whole transfer-curve sweep.

SAR ADC (charge redistribution, bottom-plate sampling, input range [0, vref]):
    a binary-weighted capacitor array (2^k unit capacitors for bit k plus one dummy unit) whose top
    plate is the comparator input; during sampling the top plate is held at 0 V and the bottom plates at
    the input; then each bit, MSB first, is tried by switching its bottom plate to ``vref``, the
    comparator decides, and a track-and-hold latch stores the bit that drives the plate from then on.
    The code is held on node ``code`` (sum of the latched bits) and the reference current is the
    charge the DAC draws from ``Vref``.

Ramp ADC (single slope, input range [0, vref]):
    the input is sampled on a hold capacitor while the ramp capacitor is reset; a current source from
    ``vdd`` charges the ramp capacitor at ``vref / 2^bits`` per clock period; at every rising clock edge
    the comparator output (input above ramp) is sampled, and a counter adds one count per clock pulse
    while it is high. The count is the voltage of node ``code`` (1 V per count).

Both use the cells of ``circuits/adc_cells.lib`` (behavioral switches, comparator, latches, counter);
the comparator has an input-referred offset and optional per-decision noise given as a sampled
piecewise-constant source (drawn by the caller's ``rng``, so runs are reproducible).
Timing of both converters is exposed as :meth:`SARADCSpec.readout_times` etc. for reading the codes.
"""

from __future__ import annotations

import math
import os
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from devicelab.errors import ConfigError
from devicelab.files import write_texts
from devicelab.spice.library import load_library
from devicelab.spice.names import check_array, check_number, spice_float

CELL_LIBRARY = "adc_cells"
MIN_BITS, MAX_BITS = 2, 10
G_OFF = 1e-12  # S, off-conductance of every switch
VTR = 1e-5  # V, width of the comparator's tanh transition (finite gain ~ 1e5)


def _check_common(spec) -> None:
    name = type(spec).__name__
    if isinstance(spec.bits, bool) or not isinstance(spec.bits, int) or not MIN_BITS <= spec.bits <= MAX_BITS:
        raise ConfigError(f"{name}.bits: expected an integer in [{MIN_BITS}, {MAX_BITS}], got {spec.bits!r}")
    for field in ("vref", "vdd", "r_switch", "t_edge"):
        check_number(getattr(spec, field), f"{name}.{field}", positive=True)
    for field in ("comparator_noise", "comparator_bias"):
        check_number(getattr(spec, field), f"{name}.{field}", minimum=0.0)
    check_number(spec.comparator_offset, f"{name}.comparator_offset")


class _ConversionTiming(ABC):
    """Timing shared by the ADC specs; subclasses define ``t_conversion`` (s)."""

    @property
    @abstractmethod
    def t_conversion(self) -> float:
        """Conversion period (s)."""

    def energy_windows(self, n: int) -> np.ndarray:
        """(n, 2) start and end times (s) of each conversion period, for integrating supply power."""
        start = np.arange(n) * self.t_conversion
        return np.stack([start, start + self.t_conversion], axis=1)


@dataclass(frozen=True)
class SARADCSpec(_ConversionTiming):
    """Charge-redistribution SAR ADC.

    Fields: ``bits``; ``vref`` (V, full scale: input range [0, vref]); ``vdd`` (V, supply of the
    comparator); ``comparator_offset`` (V, input-referred at the comparator); ``comparator_noise`` (V rms
    per decision, input-referred at the comparator); ``comparator_bias`` (A drawn from vdd while
    converting); ``c_unit`` (F, unit capacitor); ``c_parasitic`` (F, top plate to ground);
    ``cap_mismatch`` (relative standard deviation of one unit capacitor); ``r_switch`` (ohm, on-resistance
    of the switch of one unit capacitor; switches are sized with their capacitor, so a capacitor of m
    units has r_switch / m, and the top-plate switch r_switch / 2^bits); ``t_sample``, ``t_bit`` (s, sampling
    and per-bit decision time); ``t_edge`` (s, control-signal rise/fall time).
    """

    bits: int = 6
    vref: float = 1.0
    vdd: float = 1.0
    comparator_offset: float = 0.0
    comparator_noise: float = 0.0
    comparator_bias: float = 20e-6
    c_unit: float = 20e-15
    c_parasitic: float = 10e-15
    cap_mismatch: float = 0.0
    r_switch: float = 1e3
    t_sample: float = 20e-9
    t_bit: float = 20e-9
    t_edge: float = 0.1e-9

    kind = "sar"

    def __post_init__(self):
        _check_common(self)
        for field in ("c_unit", "t_sample", "t_bit"):
            check_number(getattr(self, field), f"SARADCSpec.{field}", positive=True)
        for field in ("c_parasitic", "cap_mismatch"):
            check_number(getattr(self, field), f"SARADCSpec.{field}", minimum=0.0)
        if self.t_bit < 20 * self.t_edge or self.t_sample < 10 * self.t_edge:
            raise ConfigError("SAR ADC spec: t_bit must be >= 20 t_edge and t_sample >= 10 t_edge "
                              f"(got t_bit={self.t_bit}, t_sample={self.t_sample}, t_edge={self.t_edge})")

    @property
    def t_conversion(self) -> float:
        """Conversion period (s): sampling plus one decision per bit."""
        return self.t_sample + self.bits * self.t_bit

    def readout_times(self, n: int) -> np.ndarray:
        """Times (s) at which the codes of conversions 0..n-1 are valid on node ``code``."""
        return (np.arange(n) + 1) * self.t_conversion - 0.05 * self.t_bit

    def input_gain(self, capacitances: np.ndarray | None = None) -> float:
        """Attenuation C_array / (C_array + C_parasitic) from the ADC input to the comparator input."""
        c_array = float(np.sum(capacitances)) if capacitances is not None else self.c_unit * 2**self.bits
        return c_array / (c_array + self.c_parasitic)

    def to_dict(self) -> dict:
        """Parameters by name (for provenance)."""
        return {"kind": self.kind, **asdict(self)}


@dataclass(frozen=True)
class RampADCSpec(_ConversionTiming):
    """Single-slope (ramp) ADC with a clock counter as time-to-digital converter.

    Fields: ``bits``; ``vref`` (V, full scale: input range [0, vref]); ``vdd`` (V, supply of the ramp
    current source and the comparator); ``comparator_offset`` (V, input-referred); ``comparator_noise``
    (V rms per clock decision); ``comparator_bias`` (A from vdd while converting); ``c_ramp`` (F, ramp
    capacitor); ``c_hold`` (F, input hold capacitor); ``r_leak`` (ohm, leakage of the ramp node, i.e. the
    finite output resistance of the current source; ``inf`` for none); ``slope_error`` (relative error of
    the ramp current); ``r_switch`` (ohm); ``t_clk`` (s, counter clock period); ``sample_cycles``
    (sampling/reset time in clock periods); ``t_edge`` (s, control-signal rise/fall time).
    """

    bits: int = 6
    vref: float = 1.0
    vdd: float = 1.0
    comparator_offset: float = 0.0
    comparator_noise: float = 0.0
    comparator_bias: float = 20e-6
    c_ramp: float = 1e-12
    c_hold: float = 1e-12
    r_leak: float = math.inf
    slope_error: float = 0.0
    r_switch: float = 1e3
    t_clk: float = 10e-9
    sample_cycles: int = 2
    t_edge: float = 0.1e-9

    kind = "ramp"

    def __post_init__(self):
        _check_common(self)
        for field in ("c_ramp", "c_hold", "t_clk"):
            check_number(getattr(self, field), f"RampADCSpec.{field}", positive=True)
        if not (self.r_leak == math.inf or check_number(self.r_leak, "RampADCSpec.r_leak", positive=True)):
            raise ConfigError(f"RampADCSpec.r_leak: expected a positive number (ohm) or inf, got {self.r_leak!r}")
        if abs(check_number(self.slope_error, "RampADCSpec.slope_error")) >= 0.5:
            raise ConfigError(f"RampADCSpec.slope_error: expected a fraction in (-0.5, 0.5), got {self.slope_error!r}")
        if isinstance(self.sample_cycles, bool) or not isinstance(self.sample_cycles, int) or self.sample_cycles < 1:
            raise ConfigError(f"RampADCSpec.sample_cycles: expected a positive integer, got {self.sample_cycles!r}")
        if self.t_clk < 20 * self.t_edge:
            raise ConfigError(f"ramp ADC spec: t_clk must be >= 20 t_edge (got {self.t_clk}, {self.t_edge})")

    @property
    def t_sample(self) -> float:
        """Sampling/reset time (s)."""
        return self.sample_cycles * self.t_clk

    @property
    def t_conversion(self) -> float:
        """Conversion period (s): sampling plus 2^bits clock periods of ramp."""
        return self.t_sample + 2**self.bits * self.t_clk

    @property
    def i_ramp(self) -> float:
        """Ramp current (A): one LSB (vref / 2^bits) per clock period on c_ramp, times (1 + slope_error)."""
        return self.c_ramp * self.vref / 2**self.bits / self.t_clk * (1.0 + self.slope_error)

    def readout_times(self, n: int) -> np.ndarray:
        """Times (s) at which the counts of conversions 0..n-1 are valid on node ``code``."""
        return (np.arange(n) + 1) * self.t_conversion - 0.25 * self.t_clk

    def input_gain(self, capacitances: np.ndarray | None = None) -> float:
        """Gain from the ADC input to the comparator input (1: the hold node is the comparator input)."""
        return 1.0

    def to_dict(self) -> dict:
        """Parameters by name (for provenance); an infinite r_leak is written as the string 'inf'."""
        d = {"kind": self.kind, **asdict(self)}
        if math.isinf(d["r_leak"]):
            d["r_leak"] = "inf"
        return d


def cell_library() -> str:
    """Text of the validated ADC cell library ``circuits/adc_cells.lib`` (inlined into every ADC netlist)."""
    return load_library(CELL_LIBRARY).text


def sar_capacitances(spec: SARADCSpec, rng: np.random.Generator | None = None) -> np.ndarray:
    """Capacitances (F) of the SAR array: [dummy, bit 0, ..., bit bits-1] = c_unit * [1, 1, 2, ..., 2^(bits-1)].

    With ``cap_mismatch`` > 0 each capacitor of m unit capacitors gets a relative error with standard
    deviation cap_mismatch / sqrt(m) (independent unit capacitors in parallel), drawn from ``rng``.
    """
    units = np.concatenate([[1.0], 2.0 ** np.arange(spec.bits)])
    caps = spec.c_unit * units
    if spec.cap_mismatch > 0:
        if rng is None:
            raise ConfigError("SAR ADC spec has cap_mismatch > 0: pass an rng to draw the capacitor errors")
        caps = caps * (1.0 + spec.cap_mismatch / np.sqrt(units) * rng.standard_normal(units.size))
        if np.any(caps <= 0):
            raise ConfigError(f"cap_mismatch={spec.cap_mismatch} drew a non-positive capacitance")
    return caps


def _check_noise(noise, shape: tuple[int, int]) -> np.ndarray | None:
    if noise is None:
        return None
    n = check_array(noise, "ADC comparator noise (V)", ndim=2)
    if n.shape != shape:
        raise ConfigError(f"ADC comparator noise (V): expected shape {shape}, got {n.shape}")
    return n


def _pwl(name: str, pos: str, neg: str, times: np.ndarray, values: np.ndarray) -> list[str]:
    """A PWL voltage source, 4 points per continuation line."""
    pairs = [f"{spice_float(t)} {spice_float(v)}" for t, v in zip(times, values)]
    lines = [f"{name} {pos} {neg} PWL("]
    for i in range(0, len(pairs), 4):
        lines.append("+ " + " ".join(pairs[i:i + 4]))
    lines.append("+ )")
    return lines


def _steps(starts: np.ndarray, values: np.ndarray, t_edge: float) -> tuple[np.ndarray, np.ndarray]:
    """PWL points of a piecewise-constant waveform changing to values[i] over [starts[i], starts[i]+t_edge]."""
    times = np.empty(2 * starts.size)
    vals = np.empty(2 * starts.size)
    times[0::2], times[1::2] = starts, starts + t_edge
    vals[1::2] = values
    vals[0::2] = np.concatenate([[values[0]], values[:-1]])
    times[0] = 0.0
    return times, vals


def _pulse(name: str, node: str, delay: float, width_high: float, period: float, t_edge: float) -> str:
    """Periodic 0->1 pulse: rise starts at ``delay``, falls after ``width_high`` flat-top seconds."""
    return (f"{name} {node} 0 PULSE(0 1 {spice_float(delay)} {spice_float(t_edge)} {spice_float(t_edge)} "
            f"{spice_float(width_high)} {spice_float(period)})")


def _header(title: str, spec, n: int) -> list[str]:
    params = " ".join(f"{k}={v}" for k, v in spec.to_dict().items())
    return [f"* devicelab {title}, {n} conversions", f"* {params}", "", cell_library().rstrip(), ""]


def build_sar_netlist(spec: SARADCSpec, inputs, capacitances=None, noise=None) -> str:
    """SPICE text of a SAR ADC converting ``inputs`` (V), one per conversion period, in one ``.tran``.

    ``capacitances`` (F, see :func:`sar_capacitances`; nominal when None); ``noise`` (V, shape
    (n, bits): comparator noise of each decision, MSB first). Saved vectors: ``v(code)``, ``i(vref)``,
    ``i(vdd)``. The text depends only on the arguments (deterministic).
    """
    vin = check_array(inputs, "ADC inputs (V)", ndim=1)
    n, nb, te = vin.size, spec.bits, spec.t_edge
    caps = sar_capacitances(spec) if capacitances is None else check_array(capacitances, "SAR capacitances (F)", ndim=1)
    if caps.shape != (nb + 1,) or not np.all(caps > 0):
        raise ConfigError(f"SAR capacitances must be {nb + 1} positive finite values (F), got shape {caps.shape}")
    noise = _check_noise(noise, (n, nb))
    T, ts, tb = spec.t_conversion, spec.t_sample, spec.t_bit
    latch_width = 0.35 * tb
    c_latch = 1e-12
    g_latch = 20 * c_latch / latch_width
    lines = _header(f"{nb}-bit SAR ADC", spec, n)
    lines += [f"Vref vref 0 DC {spice_float(spec.vref)}", f"Vdd vdd 0 DC {spice_float(spec.vdd)}"]
    lines += _pwl("Vin", "vin", "0", *_steps(np.arange(n) * T, vin, te))
    lines += ["* phases: ps = bottom plates on input, pt = top plate on ground, act = comparator on",
              _pulse("Vps", "ps", 0.0, ts - 2 * te, T, te),
              _pulse("Vpt", "pt", 0.0, ts - 4 * te, T, te),
              _pulse("Vact", "act", ts, T - ts - 2 * te, T, te),
              "* break-before-make: the input switches close only above mid-level of ps, the others below",
              "Bpsi psi 0 V = min(max(2 * V(ps) - 1, 0), 1)",
              "Bpsn psn 0 V = min(max(1 - 2 * V(ps), 0), 1)",
              f"Bbias vdd 0 I = {spice_float(spec.comparator_bias)} * min(max(V(act), 0), 1)"]

    def gsw(units: float) -> str:  # switches are sized with their capacitor: r_switch / units
        return f"gon={spice_float(units / spec.r_switch)} goff={spice_float(G_OFF)}"

    lines += ["* dummy capacitor: input while sampling, ground otherwise",
              f"Cd x pd {spice_float(caps[0])}",
              f"Xsdi vin pd psi dl_adc_switch params: {gsw(1)}",
              f"Xsdg pd 0 psn dl_adc_switch params: {gsw(1)}"]
    code_terms = []
    for i, k in enumerate(range(nb - 1, -1, -1)):  # decision i decides bit k, MSB first
        start = ts + i * tb
        end = start + tb if k > 0 else T - te
        lines += [f"* bit {k}: trial window, decided window, latch",
                  _pulse(f"Vt{k}", f"t{k}", start, end - start - te, T, te),
                  _pulse(f"Vl{k}", f"l{k}", start + 0.5 * tb, latch_width - te, T, te)]
        if k > 0:
            lines += [_pulse(f"Va{k}", f"a{k}", end, T - end - 2 * te, T, te),
                      f"Bd{k} d{k} 0 V = V(t{k}) + V(a{k}) * (V(q{k}) > 0.5 ? 1 : 0)"]
        else:
            lines += [f"Bd{k} d{k} 0 V = V(t{k})"]
        lines += [f"Bh{k} h{k} 0 V = V(psn) * min(max(2 * V(d{k}) - 1, 0), 1)",
                  f"Bg{k} g{k} 0 V = V(psn) * min(max(1 - 2 * V(d{k}), 0), 1)",
                  f"C{k} x p{k} {spice_float(caps[k + 1])}",
                  f"Xs{k}i vin p{k} psi dl_adc_switch params: {gsw(2**k)}",
                  f"Xs{k}h vref p{k} h{k} dl_adc_switch params: {gsw(2**k)}",
                  f"Xs{k}g p{k} 0 g{k} dl_adc_switch params: {gsw(2**k)}",
                  f"Xq{k} cmp l{k} q{k} dl_adc_track_hold params: g={spice_float(g_latch)} c={spice_float(c_latch)}"]
        code_terms.append(f"{2**k} * (V(q{k}) > 0.5 ? 1 : 0)")
    lines += ["* top plate: ground switch, parasitic capacitance, comparator",
              f"Xst x 0 pt dl_adc_switch params: {gsw(2**nb)}"]
    if spec.c_parasitic > 0:
        lines.append(f"Cpar x 0 {spice_float(spec.c_parasitic)}")
    if noise is not None:
        starts = ts + np.arange(n)[:, None] * T + np.arange(nb)[None, :] * tb
        lines += _pwl("Vnoise", "cn", "0", *_steps(starts.ravel(), noise.ravel(), te))
    else:
        lines.append("Vnoise cn 0 DC 0")
    comparator = f"dl_adc_comparator params: vos={spice_float(spec.comparator_offset)} vtr={spice_float(VTR)}"
    lines += [f"Xcmp cn x cmp {comparator}",
              "Bcode code 0 V = " + " + ".join(code_terms), ""]
    lines += _analysis(n * T, tb / 5, te, "v(code) i(vref) i(vdd)")
    return "\n".join(lines) + "\n"


def build_ramp_netlist(spec: RampADCSpec, inputs, noise=None) -> str:
    """SPICE text of a single-slope ADC converting ``inputs`` (V), one per conversion period.

    ``noise`` (V, shape (n, 2^bits - 1)): comparator noise at each counted clock edge. Saved vectors:
    ``v(code)`` (the count, 1 V per count), ``i(vdd)``. Deterministic text.
    """
    vin = check_array(inputs, "ADC inputs (V)", ndim=1)
    n, te, tc = vin.size, spec.t_edge, spec.t_clk
    n_edges = 2**spec.bits - 1
    noise = _check_noise(noise, (n, n_edges))
    T, t0 = spec.t_conversion, spec.t_sample
    c_latch = 1e-12
    g_latch = 20 * c_latch / (0.5 * tc)
    gsw = f"gon={spice_float(1.0 / spec.r_switch)} goff={spice_float(G_OFF)}"
    lines = _header(f"{spec.bits}-bit single-slope ADC", spec, n)
    lines += [f"Vdd vdd 0 DC {spice_float(spec.vdd)}"]
    lines += _pwl("Vin", "vin", "0", *_steps(np.arange(n) * T, vin, te))
    lines += ["* phases: ps = sample input and reset ramp/counter, act = comparator on, cw = counting window",
              _pulse("Vps", "ps", 0.0, t0 - 2 * te, T, te),
              _pulse("Vact", "act", t0, T - t0 - 2 * te, T, te),
              _pulse("Vcw", "cw", t0 + 0.5 * tc + te, (n_edges - 0.25) * tc - 2 * te, T, te),
              "* clock: rising edges centred on t0 + k t_clk, high for t_clk/2 (integral of V(clk) per pulse)",
              _pulse("Vclk", "clk", tc - te / 2, tc / 2 - te, tc, te),
              "Bclkn clkn 0 V = 1 - V(clk)",
              f"Bbias vdd 0 I = {spice_float(spec.comparator_bias)} * min(max(V(act), 0), 1)",
              "* sample and hold of the input",
              f"Xsh vin hold ps dl_adc_switch params: {gsw}",
              f"Chold hold 0 {spice_float(spec.c_hold)}",
              "* ramp: current source from vdd, reset switch, optional leakage",
              f"Bramp vdd ramp I = {spice_float(spec.i_ramp)} * (1 - min(max(V(ps), 0), 1))",
              f"Cramp ramp 0 {spice_float(spec.c_ramp)}",
              f"Xsr ramp 0 ps dl_adc_switch params: {gsw}"]
    if math.isfinite(spec.r_leak):
        lines.append(f"Rleak ramp 0 {spice_float(spec.r_leak)}")
    if noise is not None:
        # noise of edge k+1 changes together with the clock's falling edge before it (no extra breakpoints)
        starts = t0 + np.arange(n)[:, None] * T + (np.arange(n_edges)[None, :] + 0.5) * tc - te / 2
        lines += _pwl("Vnoise", "hn", "hold", *_steps(starts.ravel(), noise.ravel(), te))
    else:
        lines.append("Vnoise hn hold DC 0")
    comparator = f"dl_adc_comparator params: vos={spice_float(spec.comparator_offset)} vtr={spice_float(VTR)}"
    lines += [f"Xcmp hn ramp cmp {comparator}",
              "* the comparator is sampled while the clock is low; the counter counts the following pulse",
              "Bgate gate 0 V = V(cmp) * V(cw)",
              f"Xen gate clkn en dl_adc_track_hold params: g={spice_float(g_latch)} c={spice_float(c_latch)}",
              f"Xcnt en clk ps code dl_adc_counter params: tclk={spice_float(tc)} c=1e-12 "
              f"g={spice_float(20e-12 / t0)}", ""]
    lines += _analysis(n * T, tc / 4, te, "v(code) i(vdd)")
    return "\n".join(lines) + "\n"


def _analysis(t_stop: float, t_max: float, t_edge: float, saves: str) -> list[str]:
    return [f".tran {spice_float(t_edge)} {spice_float(t_stop)} 0 {spice_float(t_max)}", f".save {saves}", ".end"]


REFERENCE_INPUTS = (0.03, 0.33, 0.5, 0.71, 0.97)  # V


def reference_netlists() -> dict[str, str]:
    """The reference netlists kept in ``netlists/`` (file name -> text): a 4-bit SAR ADC with 5 mV comparator
    offset and a 4-bit ramp ADC, each converting :data:`REFERENCE_INPUTS`. Tests diff them with the files."""
    return {"adc_sar_4bit.cir": build_sar_netlist(SARADCSpec(bits=4, comparator_offset=5e-3), REFERENCE_INPUTS),
            "adc_ramp_4bit.cir": build_ramp_netlist(RampADCSpec(bits=4, comparator_offset=5e-3), REFERENCE_INPUTS)}


def write_reference_netlists(directory: str | os.PathLike) -> list[Path]:
    """Write :func:`reference_netlists` into ``directory`` (atomically); return the paths."""
    return write_texts(directory, reference_netlists())
