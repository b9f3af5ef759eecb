"""Netlists of a digital MRAM processing-in-memory sub-array column with several rows activated at once.

Sensing scheme (voltage-mode, as in the MRAM computational sub-arrays reviewed by Angizi & Fan, NANOARCH 2019):
a read current ``n * i_read`` is driven into the bit line while ``n`` rows (n = 2 or 3) are activated; each
activated cell is an access transistor (on-resistance ``r_access``) in series with an MTJ
(``circuits/mram_cells.lib``, bit 1 = AP). The bit-line voltage V_sense = I (R_1 || ... || R_n) grows with the
number k of stored ones. Sense amplifiers compare it with reference voltages made by the same current in
reference resistors placed between the nominal levels of k = m - 1 and k = m ones, so SA m outputs the
threshold T_m = [k >= m] (a thermometer code of k). Every bit operation is a function of that code:

========  =====  ===========  ===============================================
operation rows   thresholds   output
========  =====  ===========  ===============================================
and2      2      T2           T2
or2       2      T1           T1
xor2      2      T1, T2       T1 and not T2 (xnor2 = its complement)
and3      3      T3           T3
or3       3      T1           T1
maj3      3      T2           T2 (the carry of a full adder)
fa_sum    3      T1, T2, T3   T1 xor T2 xor T3 (the sum of a full adder)
fa_carry  3      T2           T2
========  =====  ===========  ===============================================

A Monte Carlo netlist holds many independent column instances (each with its own sampled MTJ resistances
and SA offsets) sharing one reference branch per threshold, in one ``.tran`` analysis.
"""

from __future__ import annotations

import functools
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from devicelab.devices.mtj import MTJModel
from devicelab.errors import ConfigError
from devicelab.files import write_texts
from devicelab.spice.library import load_library
from devicelab.spice.names import check_number, spice_float

CELL_LIBRARY = "mram_cells"
REFERENCE_PLACEMENTS = ("equal_error", "midpoint")
REFERENCE_SEED = 20190717  # fixed: references are a design choice, not a random draw
SA_VTR = 1e-5  # V, width of the SA's tanh transition
#: Thresholds (SA m decides [k >= m]) each operation needs, and its number of activated rows.
OPERATIONS = {"and2": (2, (2,)), "or2": (2, (1,)), "xor2": (2, (1, 2)), "and3": (3, (3,)), "or3": (3, (1,)),
              "maj3": (3, (2,)), "fa_sum": (3, (1, 2, 3)), "fa_carry": (3, (2,))}


def op_output(op: str, thermo: np.ndarray) -> np.ndarray:
    """Output bits of operation ``op`` from thermometer decisions ``thermo`` (..., n) with thermo[..., m-1] = T_m."""
    t = np.asarray(thermo).astype(bool)
    if op in ("and2", "maj3", "fa_carry"):
        return t[..., 1]
    if op in ("or2", "or3"):
        return t[..., 0]
    if op == "xor2":
        return t[..., 0] & ~t[..., 1]
    if op == "and3":
        return t[..., 2]
    if op == "fa_sum":
        return t[..., 0] ^ t[..., 1] ^ t[..., 2]
    raise ConfigError(f"unknown operation {op!r} (known: {', '.join(OPERATIONS)})")


def exact_output(op: str, k) -> np.ndarray:
    """Error-free output of ``op`` for k stored ones among its activated rows."""
    n = OPERATIONS[op][0] if op in OPERATIONS else 0
    k = np.asarray(k)
    thermo = np.stack([k >= m for m in range(1, n + 1)], axis=-1)
    return op_output(op, thermo)


@dataclass(frozen=True)
class SenseSpec:
    """Column and sense-amplifier parameters.

    ``i_read`` (A): read current per activated row (the column is driven with n i_read); ``r_access`` (ohm):
    access-transistor on-resistance; ``c_bl`` (F): bit-line capacitance (reference branches get the same);
    ``t_sense`` (s): time from the start of the read current to the SA sampling instant; ``t_edge`` (s): rise
    time of the read current; ``sa_offset_sigma`` (V rms): input-referred SA offset, drawn per SA;
    ``sa_energy`` (J per decision) and ``t_sa`` (s): latch energy and resolution time of the SA (behavioral SA:
    these are stated assumptions, not simulated); ``max_rows``: most rows the SA can sense at once;
    ``reference``: placement of the reference voltages, "equal_error" or "midpoint" (:func:`reference_voltages`).
    """

    i_read: float = 20e-6
    r_access: float = 1e3
    c_bl: float = 50e-15
    t_sense: float = 2e-9
    t_edge: float = 50e-12
    sa_offset_sigma: float = 2e-3
    sa_energy: float = 5e-15
    t_sa: float = 0.5e-9
    max_rows: int = 3
    reference: str = "equal_error"

    def __post_init__(self):
        if self.reference not in REFERENCE_PLACEMENTS:
            raise ConfigError(f"SenseSpec.reference: expected one of {REFERENCE_PLACEMENTS}, got {self.reference!r}")
        for name in ("i_read", "r_access", "c_bl", "t_sense", "t_edge", "t_sa"):
            check_number(getattr(self, name), f"SenseSpec.{name}", positive=True)
        for name in ("sa_offset_sigma", "sa_energy"):
            check_number(getattr(self, name), f"SenseSpec.{name}", minimum=0.0)
        if isinstance(self.max_rows, bool) or not isinstance(self.max_rows, int) or not 1 <= self.max_rows <= 3:
            raise ConfigError(f"SenseSpec.max_rows: expected 1, 2 or 3, got {self.max_rows!r}")
        if self.t_sense < 10 * self.t_edge:
            raise ConfigError("SenseSpec: t_sense must be >= 10 t_edge")

    def check_rows(self, n: int) -> int:
        """``n`` if the SA can sense that many activated rows, else ConfigError."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ConfigError(f"activated rows: expected a positive integer, got {n!r}")
        if n > self.max_rows:
            raise ConfigError(f"{n} activated rows: the sense amplifier distinguishes at most {self.max_rows} "
                              "(references between the parallel resistances of up to max_rows cells)")
        return int(n)

    @property
    def t_sample(self) -> float:
        """SA sampling instant (s) from the start of the analysis."""
        return self.t_edge + self.t_sense

    def to_dict(self) -> dict:
        """Fields by name (SI units)."""
        return asdict(self)


def _solve_mtj_voltage(v_cell, r_p, r_ap, bit, r_access, v_h):
    """Voltage across the MTJ (V) of cells biased with ``v_cell`` (V) across access transistor + MTJ."""
    lo = np.zeros(np.broadcast(v_cell, r_p, r_ap, bit).shape)
    hi = lo + v_cell
    # bisection (2^-48 of the bias: far below 1 nV): the series current is monotone in the MTJ voltage
    for _ in range(48):
        mid = 0.5 * (lo + hi)
        r = r_p + bit * (r_ap - r_p) / (1.0 + (mid / v_h) ** 2)
        too_high = mid + mid / r * r_access > v_cell
        hi = np.where(too_high, mid, hi)
        lo = np.where(too_high, lo, mid)
    return 0.5 * (lo + hi)


def sense_voltage(bits, model: MTJModel, spec: SenseSpec, r_p=None, r_ap=None) -> np.ndarray:
    """DC bit-line voltage (V) of columns storing ``bits`` (..., n) driven with n * i_read (numpy solver).

    ``r_p``/``r_ap`` (ohm, shape of ``bits``): per-device zero-bias resistances (default: the medians).
    The same equations as the netlist's steady state, solved by nested bisection.
    """
    bits = np.asarray(bits, dtype=np.float64)
    n = bits.shape[-1]
    r_p = np.broadcast_to(model.r_p if r_p is None else r_p, bits.shape)
    r_ap = np.broadcast_to(model.r_ap if r_ap is None else r_ap, bits.shape)
    i_total = n * spec.i_read
    lo = np.zeros(bits.shape[:-1])
    hi = lo + i_total * (spec.r_access + np.max(r_ap, axis=-1) + np.max(r_p, axis=-1))
    for _ in range(48):
        mid = 0.5 * (lo + hi)
        v_mtj = _solve_mtj_voltage(mid[..., None], r_p, r_ap, bits, spec.r_access, model.v_h)
        current = np.sum((mid[..., None] - v_mtj) / spec.r_access, axis=-1)
        too_high = current > i_total
        hi = np.where(too_high, mid, hi)
        lo = np.where(too_high, lo, mid)
    return 0.5 * (lo + hi)


@functools.lru_cache(maxsize=64)
def reference_voltages(model: MTJModel, spec: SenseSpec, n: int) -> np.ndarray:
    """Reference voltages (V) of SAs 1..n, between the sensed voltages of k = m-1 and k = m ones.

    ``spec.reference`` = "midpoint": halfway between the nominal levels; "equal_error" (default): where the
    two neighbouring levels are the same number of standard deviations away,
    V_ref,m = mu_(m-1) + (mu_m - mu_(m-1)) s_(m-1) / (s_(m-1) + s_m), s_k^2 = sigma_k^2 + sigma_os^2, with
    the level statistics mu_k, sigma_k of :func:`sensing_statistics` (2000 devices, fixed seed
    :data:`REFERENCE_SEED`, so the references are reproducible), i.e. the references a designer trims for
    equal error on both sides. Returns a read-only array.
    """
    n = spec.check_rows(n)
    levels = sense_voltage(np.tril(np.ones((n + 1, n)), -1), model, spec)
    refs = 0.5 * (levels[:-1] + levels[1:])
    if spec.reference == "equal_error" and (model.sigma_p > 0 or model.sigma_ap > 0 or spec.sa_offset_sigma > 0):
        mu, sigma = sensing_statistics(model, spec, n, 2000, np.random.default_rng(REFERENCE_SEED))
        s = np.hypot(sigma, spec.sa_offset_sigma)
        refs = mu[:-1] + (mu[1:] - mu[:-1]) * s[:-1] / (s[:-1] + s[1:])
    refs.flags.writeable = False
    return refs


def build_mc_netlist(model: MTJModel, spec: SenseSpec, bits, r_p, r_ap, offsets) -> str:
    """SPICE text of many column instances sensed at once.

    ``bits`` (N, n) stored bits (1 = AP); ``r_p``, ``r_ap`` (N, n) per-device zero-bias resistances (ohm);
    ``offsets`` (N, n) SA offsets (V) of SAs 1..n of each instance. Saved vectors: ``v(bl<j>)``, ``v(o<j>_<m>)``
    and ``v(ref<m>)``. Deterministic text.
    """
    bits = np.asarray(bits)
    if bits.ndim != 2 or bits.shape[0] < 1:
        raise ConfigError(f"bits: expected an (instances, rows) array, got shape {bits.shape}")
    n_inst, n = bits.shape
    spec.check_rows(n)
    if not np.all((bits == 0) | (bits == 1)):
        raise ConfigError("bits: stored bits must be 0 or 1")
    arrays = {"r_p": r_p, "r_ap": r_ap, "offsets": offsets}
    for name, a in arrays.items():
        a = np.asarray(a, dtype=np.float64)
        if a.shape != bits.shape or not np.all(np.isfinite(a)):
            raise ConfigError(f"{name}: expected finite values of shape {bits.shape}, got {a.shape}")
        arrays[name] = a
    if np.any(arrays["r_p"] <= 0) or np.any(arrays["r_ap"] <= 0):
        raise ConfigError("r_p, r_ap: resistances must be > 0 ohm")
    i_total = n * spec.i_read
    refs = reference_voltages(model, spec, n)
    te, t_stop = spec.t_edge, spec.t_sample + 2 * spec.t_edge
    pulse = (f"PULSE(0 {spice_float(i_total)} {spice_float(te)} {spice_float(te)} {spice_float(te)} "
             f"{spice_float(spec.t_sense + te)} {spice_float(10 * t_stop)})")
    c_bl = spice_float(spec.c_bl)
    lines = [f"* devicelab MRAM PIM column Monte Carlo: {n_inst} instance(s), {n} activated rows",
             f"* MTJ {model.name}: R_P {model.r_p:g} ohm, TMR0 {model.tmr0:g}, V_h {model.v_h:g} V; "
             f"I_read {spec.i_read:g} A/row, R_access {spec.r_access:g} ohm, C_BL {spec.c_bl:g} F",
             load_library(CELL_LIBRARY).text.rstrip(), "",
             "* reference branches: the same read current into R_ref_m = V_ref_m / I"]
    for m, v_ref in enumerate(refs, start=1):
        # 12 significant digits: the reference levels come from library quantile functions whose last bits
        # differ between builds, and the netlist text must be reproducible (golden files).
        lines += [f"Iref{m} 0 ref{m} {pulse}", f"Rref{m} ref{m} 0 {spice_float(float(f'{v_ref / i_total:.12g}'))}",
                  f"Cref{m} ref{m} 0 {c_bl}"]
    vh = spice_float(model.v_h)
    for j in range(n_inst):
        lines += [f"* instance {j}: bits {''.join(str(int(b)) for b in bits[j])}",
                  f"I{j} 0 bl{j} {pulse}", f"Cbl{j} bl{j} 0 {c_bl}"]
        for r in range(n):
            lines += [f"Ra{j}_{r} bl{j} c{j}_{r} {spice_float(spec.r_access)}",
                      f"Xm{j}_{r} c{j}_{r} 0 dl_mram_mtj params: rp={spice_float(arrays['r_p'][j, r])} "
                      f"rap={spice_float(arrays['r_ap'][j, r])} vh={vh} bit={int(bits[j, r])}"]
        for m in range(1, n + 1):
            lines.append(f"Xs{j}_{m} bl{j} ref{m} o{j}_{m} dl_mram_sa params: "
                         f"vos={spice_float(arrays['offsets'][j, m - 1])} vtr={spice_float(SA_VTR)}")
    saves = [f"v(ref{m})" for m in range(1, n + 1)]
    saves += [f"v(bl{j})" for j in range(n_inst)]
    saves += [f"v(o{j}_{m})" for j in range(n_inst) for m in range(1, n + 1)]
    lines += ["", f".tran {spice_float(te / 5)} {spice_float(t_stop)} 0 {spice_float(te)}"]
    lines += [".save " + " ".join(saves[i:i + 12]) for i in range(0, len(saves), 12)]
    lines.append(".end")
    return "\n".join(lines) + "\n"


def reference_netlists() -> dict[str, str]:
    """The reference netlists kept in ``netlists/``: every pattern of 2 and of 3 activated rows at nominal
    resistances (pim_default MTJ, default SenseSpec, zero SA offset)."""
    from devicelab.devices.mtj import pim_default

    model, spec = pim_default(), SenseSpec()
    out = {}
    for n in (2, 3):
        bits = ((np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1).astype(int)
        ones = np.ones(bits.shape)
        out[f"mram_pim_column_{n}rows.cir"] = build_mc_netlist(model, spec, bits, model.r_p * ones,
                                                               model.r_ap * ones, 0 * ones)
    return out


def write_reference_netlists(directory: str | os.PathLike) -> list[Path]:
    """Write :func:`reference_netlists` into ``directory`` (atomically); return the paths."""
    return write_texts(directory, reference_netlists())


def sensing_statistics(model: MTJModel, spec: SenseSpec, n: int, n_samples: int,
                       rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation (V) of the settled sensed voltage for k = 0..n ones over sampled devices.

    The numpy DC solution of the same circuit as the netlist (no transient): a fast stand-in for the SPICE
    Monte Carlo when sweeping TMR or spread, checked against ngspice in the tests.
    """
    n = spec.check_rows(n)
    mu, sigma = np.empty(n + 1), np.empty(n + 1)
    for k in range(n + 1):
        bits = np.zeros((int(n_samples), n))
        bits[:, :k] = 1
        r_p, r_ap = model.sample_devices(bits.shape, rng)
        v = sense_voltage(bits, model, spec, r_p, r_ap)
        mu[k], sigma[k] = np.mean(v), np.std(v, ddof=1)
    return mu, sigma
