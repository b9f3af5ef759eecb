"""Monte Carlo transient characterization of the MRAM PIM column: decisions, sensed voltages, energy, latency.

:func:`simulate_columns` senses many column instances (bits given; MTJ resistances and SA offsets drawn from
``rng``) through the netlists of :mod:`devicelab.spice.pim.netlist`, at most ``chunk`` instances per ngspice run,
checkpointed per run when ``checkpoint_dir`` is given. From each transient it reads, per instance:

- the thermometer decisions of the SAs at the sampling instant, and the sensed bit-line voltage there (V);
- the read energy drawn by the column's current source, E = integral of V_BL(t) I(t) dt (J);
- the settling time: the time from the start of the read current until V_BL stays within 1 % of its
  sampled value (s).

:func:`characterize_bitops` runs every input pattern of 2 and of 3 activated rows ``n_per_pattern`` times and
returns a :class:`BitOpsCharacterization`; energy per operation = column read energy + the energy of the
reference branches of the thresholds it uses + one SA decision energy per threshold; latency per operation =
t_sense + t_sa (the timing is fixed by the design; the characterization checks that every simulated column
settles within t_sense and raises otherwise).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from devicelab.devices.mtj import MTJModel
from devicelab.errors import ConfigError
from devicelab.files import atomic_output, sha256_text
from devicelab.spice.pim.netlist import OPERATIONS, SenseSpec, build_mc_netlist, reference_voltages
from devicelab.spice.runner import run_netlist

log = logging.getLogger(__name__)
MAX_INSTANCES_PER_RUN = 300


@dataclass(frozen=True)
class ColumnRun:
    """Result of :func:`simulate_columns` for ``bits`` (N, n): ``decisions`` (N, n) bool thermometer code,
    ``v_sense`` (V), ``energy`` (J, column read energy), ``settle`` (s), ``ref_energy`` (J per reference
    branch and sensing, shape (n,)), ``r_p``/``r_ap`` (ohm, the drawn devices), ``offsets`` (V),
    ``netlist_sha256``, ``ngspice_version``, ``elapsed`` (s)."""

    bits: np.ndarray
    decisions: np.ndarray
    v_sense: np.ndarray
    energy: np.ndarray
    settle: np.ndarray
    ref_energy: np.ndarray
    r_p: np.ndarray
    r_ap: np.ndarray
    offsets: np.ndarray
    netlist_sha256: tuple[str, ...]
    ngspice_version: str
    elapsed: float


def _source_current(spec: SenseSpec, n: int, time: np.ndarray) -> np.ndarray:
    te = spec.t_edge
    knots = [0.0, te, 2 * te, 2 * te + spec.t_sense + te, 3 * te + spec.t_sense + te]
    return np.interp(time, knots, [0.0, 0.0, n * spec.i_read, n * spec.i_read, 0.0])


def _energy(time, volts, current) -> float:
    power = volts * current
    return float(np.sum(0.5 * (power[1:] + power[:-1]) * np.diff(time)))


def _settle(time, volts, t_start, t_sample) -> float:
    final = np.interp(t_sample, time, volts)
    window = time <= t_sample
    outside = window & (np.abs(volts - final) > 0.01 * abs(final))
    last = time[outside][-1] if np.any(outside) else t_start
    return float(max(last - t_start, 0.0))


def _read(spec, n, vectors, n_inst):
    time = vectors["time"]
    current = _source_current(spec, n, time)
    ts = spec.t_sample
    dec = np.array([[np.interp(ts, time, vectors[f"o{j}_{m}"]) for m in range(1, n + 1)] for j in range(n_inst)])
    # an input within ~vtr of its reference gives an intermediate output: the latch resolves it by its sign
    v = np.array([np.interp(ts, time, vectors[f"bl{j}"]) for j in range(n_inst)])
    energy = np.array([_energy(time, vectors[f"bl{j}"], current) for j in range(n_inst)])
    settle = np.array([_settle(time, vectors[f"bl{j}"], spec.t_edge, ts) for j in range(n_inst)])
    ref_energy = np.array([_energy(time, vectors[f"ref{m}"], current) for m in range(1, n + 1)])
    return dec > 0.5, v, energy, settle, ref_energy


def simulate_columns(model: MTJModel, spec: SenseSpec, bits, rng: np.random.Generator, *,
                     chunk: int = MAX_INSTANCES_PER_RUN, timeout: float = 600.0,
                     checkpoint_dir: str | Path | None = None, progress: bool = False) -> ColumnRun:
    """Sense column instances storing ``bits`` (N, n) with devices and SA offsets drawn from ``rng``."""
    bits = np.asarray(bits)
    if bits.ndim != 2:
        raise ConfigError(f"bits: expected an (instances, rows) array, got shape {bits.shape}")
    n = spec.check_rows(bits.shape[1])
    r_p, r_ap = model.sample_devices(bits.shape, rng)
    offsets = spec.sa_offset_sigma * rng.standard_normal(bits.shape)
    parts, hashes, version, elapsed = [], [], "", 0.0
    folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
    for start in tqdm(range(0, bits.shape[0], chunk), disable=not progress, desc=f"{n}-row columns", unit="run"):
        sl = slice(start, start + chunk)
        text = build_mc_netlist(model, spec, bits[sl], r_p[sl], r_ap[sl], offsets[sl])
        digest = sha256_text(text)
        hashes.append(digest)
        saved = folder / f"pim_{digest}.npz" if folder is not None else None
        if saved is not None and saved.exists():
            with np.load(saved, allow_pickle=False) as data:
                parts.append(tuple(data[k] for k in ("dec", "v", "energy", "settle", "ref_energy")))
                version = version or str(data["ngspice_version"])
            continue
        result = run_netlist(text, timeout=timeout)
        version, elapsed = result.ngspice_version, elapsed + result.elapsed
        part = _read(spec, n, result.vectors(), bits[sl].shape[0])
        parts.append(part)
        if saved is not None:
            with atomic_output(saved, suffix=".npz") as tmp:
                np.savez(tmp, dec=part[0], v=part[1], energy=part[2], settle=part[3], ref_energy=part[4],
                         ngspice_version=np.array(version))
    dec, v, energy, settle = (np.concatenate([p[i] for p in parts]) for i in range(4))
    ref_energy = np.mean([p[4] for p in parts], axis=0)
    return ColumnRun(bits, dec, v, energy, settle, ref_energy, r_p, r_ap, offsets, tuple(hashes), version, elapsed)


def all_patterns(n: int) -> np.ndarray:
    """Every input pattern of ``n`` rows, shape (2^n, n), pattern p has bit r = (p >> r) & 1."""
    return ((np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1).astype(np.int8)


@dataclass(frozen=True)
class BitOpsCharacterization:
    """Monte Carlo characterization of the column for 2 and 3 activated rows.

    ``runs``: {n: ColumnRun} (every pattern ``n_per_pattern`` times); ``v_ref``: {n: reference voltages (V)};
    ``model``, ``spec``; ``op_energy`` (J) and ``op_latency`` (s) per operation; ``provenance``.
    """

    model: MTJModel
    spec: SenseSpec
    runs: dict
    v_ref: dict
    op_energy: dict
    op_latency: dict
    provenance: dict = field(default_factory=dict)

    def errors(self, op: str) -> tuple[np.ndarray, np.ndarray]:
        """(errors, trials) of ``op`` per number of stored ones k = 0..n, counted in the Monte Carlo."""
        from devicelab.spice.pim.netlist import exact_output, op_output

        n = OPERATIONS[op][0]
        run = self.runs[n]
        k = run.bits.sum(axis=1)
        wrong = op_output(op, run.decisions) != exact_output(op, k)
        return (np.bincount(k, weights=wrong, minlength=n + 1).astype(np.int64),
                np.bincount(k, minlength=n + 1).astype(np.int64))


def characterize_bitops(model: MTJModel, spec: SenseSpec, n_per_pattern: int, *, rng: np.random.Generator,
                        timeout: float = 600.0, checkpoint_dir: str | Path | None = None,
                        progress: bool = False) -> BitOpsCharacterization:
    """Sense every pattern of 2 and of 3 rows ``n_per_pattern`` times (fresh devices each time); see module doc."""
    if isinstance(n_per_pattern, bool) or not isinstance(n_per_pattern, (int, np.integer)) or n_per_pattern < 2:
        raise ConfigError(f"n_per_pattern: expected an integer >= 2, got {n_per_pattern!r}")
    runs, v_ref = {}, {}
    for n in (2, 3):
        if n > spec.max_rows:
            continue
        bits = np.tile(all_patterns(n), (int(n_per_pattern), 1))
        runs[n] = simulate_columns(model, spec, bits, rng, timeout=timeout, checkpoint_dir=checkpoint_dir,
                                   progress=progress)
        v_ref[n] = reference_voltages(model, spec, n)
        worst = float(np.max(runs[n].settle))
        if worst > spec.t_sense:
            raise ConfigError(f"{n} rows: the bit line settles in {worst:.3g} s, longer than t_sense = "
                              f"{spec.t_sense:.3g} s; increase t_sense or lower c_bl")
    op_energy, op_latency = {}, {}
    for op, (n, thresholds) in OPERATIONS.items():
        if n not in runs:
            continue
        run = runs[n]
        op_energy[op] = float(np.mean(run.energy) + sum(run.ref_energy[m - 1] for m in thresholds)
                              + len(thresholds) * spec.sa_energy)
        op_latency[op] = spec.t_sense + spec.t_sa
    provenance = {"ngspice_version": next(iter(runs.values())).ngspice_version,
                  "netlist_sha256": [h for r in runs.values() for h in r.netlist_sha256],
                  "mtj": model.to_dict(), "sense": spec.to_dict(), "n_per_pattern": int(n_per_pattern),
                  "simulation_time_s": sum(r.elapsed for r in runs.values()),
                  "max_settle_s": {str(n): float(np.max(r.settle)) for n, r in runs.items()}}
    log.info("MRAM PIM characterization: %d instances in %.1f s", sum(r.bits.shape[0] for r in runs.values()),
             provenance["simulation_time_s"])
    return BitOpsCharacterization(model, spec, runs, v_ref, op_energy, op_latency, provenance)
