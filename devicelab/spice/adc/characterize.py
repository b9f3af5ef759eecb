"""Transient ADC characterization through ngspice: codes, conversion energy, transfer curve and linearity.

:func:`simulate_adc` converts a list of input voltages with the SAR or ramp netlist of
:mod:`devicelab.spice.adc.netlist`, many conversions per ngspice run (chunks of at most ``chunk``
conversions, each checkpointed when ``checkpoint_dir`` is given, so a killed sweep resumes), and reads the
code of each conversion and the energy it drew from the supply and reference sources:
``E_i = integral over conversion i of (vref * I_ref + vdd * I_dd) dt`` (J), i.e. the DAC switching energy
(SAR), the ramp current (ramp) and the comparator bias; the input source (the driver) is not counted and
the behavioral latches/counter are not modelled as consumers.

:func:`characterize_adc` sweeps the input uniformly over the full scale plus a margin, derives the
transition levels and the metrics of :mod:`devicelab.spice.adc.metrics`, and converts a separate set of
random held-out inputs used to measure the error of behavioral models built from the sweep.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from devicelab.errors import ConfigError, SimulationError
from devicelab.files import atomic_output, sha256_text
from devicelab.spice.adc.metrics import Linearity, enob_from_sweep, linearity, transitions_from_sweep
from devicelab.spice.adc.netlist import RampADCSpec, SARADCSpec, build_ramp_netlist, build_sar_netlist, sar_capacitances
from devicelab.spice.runner import run_netlist

log = logging.getLogger(__name__)
MAX_CLOCKS_PER_RUN = 8192  # ramp ADC: clock periods per ngspice run (bounds run time and memory)
MAX_SAR_PER_RUN = 512


@dataclass(frozen=True)
class ADCRun:
    """Result of :func:`simulate_adc`: ``inputs`` (V), ``codes`` (int), ``energy`` (J per conversion),
    ``netlist_sha256`` (one per ngspice run), ``ngspice_version``, ``elapsed`` (s of simulation)."""

    inputs: np.ndarray
    codes: np.ndarray
    energy: np.ndarray
    netlist_sha256: tuple[str, ...]
    ngspice_version: str
    elapsed: float


@dataclass(frozen=True)
class ADCCharacterization:
    """Transfer curve and metrics of one simulated ADC (see :mod:`devicelab.spice.adc.metrics`).

    ``spec``; ``v_min``, ``v_max`` (V, nominal input range); ``inputs``/``codes``: the uniform sweep;
    ``transitions`` (V, T_1..T_K); ``linearity``; ``enob``/``enob_raw`` (bits, with/without best-fit gain
    and offset removal); ``energy`` (J per sweep conversion); ``capacitances`` (F, SAR array [dummy, bit 0..],
    else None); ``heldout_inputs``/``heldout_codes``: random inputs converted separately; ``input_noise``
    (V rms, comparator noise referred to the ADC input); ``provenance`` (ngspice version, netlist hashes,
    parameters).
    """

    spec: SARADCSpec | RampADCSpec
    v_min: float
    v_max: float
    inputs: np.ndarray
    codes: np.ndarray
    transitions: np.ndarray
    linearity: Linearity
    enob: float
    enob_raw: float
    energy: np.ndarray
    capacitances: np.ndarray | None
    heldout_inputs: np.ndarray
    heldout_codes: np.ndarray
    input_noise: float
    provenance: dict = field(default_factory=dict)

    @property
    def bits(self) -> int:
        """Resolution (bits)."""
        return self.spec.bits

    @property
    def energy_per_conversion(self) -> float:
        """Mean conversion energy over the sweep (J)."""
        return float(np.mean(self.energy))

    @property
    def transition_resolution(self) -> float:
        """Half the sweep step in LSB: the resolution of the transition levels, hence of INL/DNL, offset."""
        return float(self.inputs[1] - self.inputs[0]) / 2 / self.linearity.lsb

    def summary(self) -> dict[str, float]:
        """Headline numbers by name (V, LSB, bits, J)."""
        lin = self.linearity
        return {"bits": self.bits, "lsb_V": lin.lsb, "offset_V": lin.offset, "gain_error": lin.gain_error,
                "offset_endpoint_V": lin.offset_endpoint, "gain_error_endpoint": lin.gain_error_endpoint,
                "max_inl_bestfit_LSB": lin.max_inl, "max_inl_endpoint_LSB": lin.max_inl_endpoint,
                "max_dnl_LSB": lin.max_dnl, "transition_resolution_LSB": self.transition_resolution,
                "missing_codes": len(lin.missing_codes), "enob": self.enob,
                "enob_raw": self.enob_raw, "energy_per_conversion_J": self.energy_per_conversion}


def _chunk_size(spec) -> int:
    if isinstance(spec, RampADCSpec):
        return max(1, MAX_CLOCKS_PER_RUN // (2**spec.bits + spec.sample_cycles))
    return MAX_SAR_PER_RUN


def _decisions(spec) -> int:
    return spec.bits if isinstance(spec, SARADCSpec) else 2**spec.bits - 1


def _build(spec, inputs, capacitances, noise) -> tuple[str, tuple[str, ...]]:
    if isinstance(spec, SARADCSpec):
        return build_sar_netlist(spec, inputs, capacitances, noise), ("vref#branch", "vdd#branch")
    if isinstance(spec, RampADCSpec):
        return build_ramp_netlist(spec, inputs, noise), ("vdd#branch",)
    raise ConfigError(f"unknown ADC spec type {type(spec).__name__} (expected SARADCSpec or RampADCSpec)")


def _read_run(spec, vectors: dict, n: int, supplies: tuple[str, ...], log_text: str):
    time = vectors["time"]
    raw = np.interp(spec.readout_times(n), time, vectors["code"])
    codes = np.rint(raw)
    if np.max(np.abs(raw - codes)) > 0.25:
        worst = raw[np.argmax(np.abs(raw - codes))]
        raise SimulationError(f"ADC code node is not near an integer at readout (worst {worst:.3f}); the conversion "
                              "timing is broken", log_text)
    volts = {"vref#branch": getattr(spec, "vref", 0.0), "vdd#branch": spec.vdd}
    power = -sum(volts[name] * vectors[name] for name in supplies)
    energy_cum = np.concatenate([[0.0], np.cumsum(0.5 * (power[1:] + power[:-1]) * np.diff(time))])
    windows = spec.energy_windows(n)
    energy = np.interp(windows[:, 1], time, energy_cum) - np.interp(windows[:, 0], time, energy_cum)
    return codes.astype(np.int64), energy


def simulate_adc(spec, inputs, *, rng: np.random.Generator | None = None, capacitances=None,
                 timeout: float = 600.0, checkpoint_dir: str | Path | None = None,
                 progress: bool = False) -> ADCRun:
    """Convert ``inputs`` (V) with the transient ADC netlist of ``spec``; return codes and energies.

    ``rng`` draws the comparator noise (needed when ``spec.comparator_noise > 0``); ``capacitances``
    (F, SAR only; nominal when None). Runs are checkpointed per chunk in ``checkpoint_dir`` (keyed by the
    netlist SHA-256, so a changed netlist is never taken from a stale checkpoint). Raises SimulationError
    if ngspice fails or times out (``timeout`` s per run).
    """
    v = np.array(inputs, dtype=np.float64)
    if v.ndim != 1 or v.size == 0 or not np.all(np.isfinite(v)):
        raise ConfigError("ADC inputs must be a non-empty 1-D array of finite voltages (V)")
    if spec.comparator_noise > 0 and rng is None:
        raise ConfigError("comparator_noise > 0 needs an rng to draw the noise")
    size = _chunk_size(spec)
    codes, energy, hashes = [], [], []
    version, elapsed = "", 0.0
    folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
    for start in tqdm(range(0, v.size, size), disable=not progress, desc=f"{spec.kind} ADC", unit="run"):
        part = v[start:start + size]
        noise = None
        if spec.comparator_noise > 0:
            assert rng is not None  # checked above
            noise = rng.normal(0.0, spec.comparator_noise, (part.size, _decisions(spec)))
        text, supplies = _build(spec, part, capacitances, noise)
        digest = sha256_text(text)
        hashes.append(digest)
        saved = folder / f"adc_{digest}.npz" if folder is not None else None
        if saved is not None and saved.exists():
            with np.load(saved, allow_pickle=False) as data:
                codes.append(data["codes"])
                energy.append(data["energy"])
                version = version or str(data["ngspice_version"])
            continue
        result = run_netlist(text, timeout=timeout)
        version, elapsed = result.ngspice_version, elapsed + result.elapsed
        c, e = _read_run(spec, result.vectors(), part.size, supplies, result.log)
        codes.append(c)
        energy.append(e)
        if saved is not None:
            with atomic_output(saved, suffix=".npz") as tmp:
                np.savez(tmp, codes=c, energy=e, ngspice_version=np.array(version))
    return ADCRun(v, np.concatenate(codes), np.concatenate(energy), tuple(hashes), version, elapsed)


def characterize_adc(spec, n_points: int, *, rng: np.random.Generator, n_heldout: int = 64,
                     margin_lsb: float = 2.0, timeout: float = 600.0,
                     checkpoint_dir: str | Path | None = None, progress: bool = False) -> ADCCharacterization:
    """Characterize ``spec`` from a uniform sweep of ``n_points`` inputs plus ``n_heldout`` random inputs.

    The sweep spans [0, vref] widened by ``margin_lsb`` LSB plus the comparator offset referred to the
    input on each side (so the outer transitions are seen); its step should be well below one LSB
    (``n_points`` of several per code). ``rng`` draws the capacitor mismatch (SAR), the comparator noise and
    the held-out inputs (uniform in [0, vref]).
    """
    if isinstance(n_points, bool) or not isinstance(n_points, (int, np.integer)) or n_points < 2**spec.bits:
        raise ConfigError(f"n_points: expected an integer >= 2^bits = {2**spec.bits}, got {n_points!r}")
    if isinstance(n_heldout, bool) or not isinstance(n_heldout, (int, np.integer)) or n_heldout < 0:
        raise ConfigError(f"n_heldout: expected a non-negative integer, got {n_heldout!r}")
    v_min, v_max = 0.0, spec.vref
    lsb = (v_max - v_min) / 2**spec.bits
    caps = sar_capacitances(spec, rng) if isinstance(spec, SARADCSpec) else None
    gain = spec.input_gain(caps)
    margin = margin_lsb * lsb + abs(spec.comparator_offset) / gain + 4 * spec.comparator_noise / gain
    sweep = np.linspace(v_min - margin, v_max + margin, int(n_points))
    heldout = rng.uniform(v_min, v_max, int(n_heldout))
    run = simulate_adc(spec, np.concatenate([sweep, heldout]), rng=rng, capacitances=caps, timeout=timeout,
                       checkpoint_dir=checkpoint_dir, progress=progress)
    codes, held_codes = run.codes[:sweep.size], run.codes[sweep.size:]
    transitions = transitions_from_sweep(sweep, codes, spec.bits)
    provenance = {"ngspice_version": run.ngspice_version, "netlist_sha256": list(run.netlist_sha256),
                  "parameters": spec.to_dict(), "n_points": int(n_points), "n_heldout": int(n_heldout),
                  "sweep_V": [float(sweep[0]), float(sweep[-1])], "simulation_time_s": run.elapsed}
    if caps is not None:
        provenance["capacitances_F"] = caps.tolist()
    log.info("%s ADC (%d bits): %d conversions simulated in %.1f s", spec.kind, spec.bits, run.codes.size,
             run.elapsed)
    return ADCCharacterization(
        spec=spec, v_min=v_min, v_max=v_max, inputs=sweep, codes=codes, transitions=transitions,
        linearity=linearity(transitions, spec.bits, v_min, v_max),
        enob=enob_from_sweep(sweep, codes, spec.bits, v_min, v_max, fit=True),
        enob_raw=enob_from_sweep(sweep, codes, spec.bits, v_min, v_max, fit=False),
        energy=run.energy[:sweep.size], capacitances=caps, heldout_inputs=heldout, heldout_codes=held_codes,
        input_noise=spec.comparator_noise / gain, provenance=provenance)
