"""Behavioral 1T1R crossbar model: held-out error table and speed next to the passive model.

    python benchmarks/bench_1t1r.py            # arrays 32..512 (about 60 min on 2 busy cores)
    python benchmarks/bench_1t1r.py --quick    # arrays 32..128
    python benchmarks/bench_1t1r.py --sweep calibration.h5   # reuse a calibration sweep (--keep-sweep)
    python benchmarks/bench_1t1r.py --speed-only             # speed vs the passive model only

1. Builds the model from a 1T1R calibration sweep run here (ngspice up to 32 x 32, nodal solver beyond;
   arrays 32 and 64, 2 and 5 ohm wires, linear devices, single-ended and differential, the default access
   transistor (1.8 V word line, r_on = 385 ohm) and a weak one (0.9 V, W = 0.3 um: r_on = 4.2 kohm),
   two draws).
2. Measures it on held-out cases never used to build it: random conductances in [0.25, 25] uS and real
   weights (tiles of the 512 x 512 hidden layer of an sklearn MLP trained on the digits data, as G+/G-
   pairs), inputs dense, sparse (10 %) and the real hidden activations of that MLP; arrays 32..512, wires
   0.5/2/5 ohm per segment, both transistors; reference = the nodal solver (checked against ngspice at
   32 x 32). Target: 0.5 % wherever the ideal V.G model is >= 10 % off.
3. Speed at 256 x 256, 2 ohm, batch 256: 1T1R model vs passive model (bind + apply), interleaved.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from bench_behavioral import (
    G_MAX,
    G_MIN,
    V_READ,
    best_time,
    conductances,
    input_batches,
    trained_mlp,
)

from devicelab.behavioral import CrossbarModel, build_crossbar_model, nrms_error
from devicelab.errors import ValidityRangeWarning
from devicelab.spice import (
    AccessTransistor,
    CrossbarSpec,
    ideal_currents,
    simulate_ngspice,
    solve_nodal,
)
from devicelab.spice.sweep.run import run_sweep

TARGET = 0.005
TRANSISTORS = {"1.8V/385ohm": AccessTransistor(), "0.9V/4.2kohm": AccessTransistor(v_gate=0.9, w=0.3e-6)}

CALIBRATION_SWEEP = """
name = "bench_1t1r_calibration"
n_vectors = 16
repeats = 2
seed = 1616
engines = ["nodal", "ngspice"]
ngspice_max_size = 32

[array]
sizes = [[32, 32], [64, 64]]
r_wire = [2.0, 5.0]
cell = "1t1r"
differential = [false, true]

[[transistors]]
v_gate = 1.8

[[transistors]]
v_gate = 0.9
w = 0.3e-6

[[conductances]]
kind = "uniform"
g_min = 0.25e-6
g_max = 25e-6

[[inputs]]
kind = "dnn"
v_read = 0.2
zero_fraction = 0.5
"""


def cases(quick: bool, only: tuple[int, ...] = ()):
    """(size, r, transistor label, differential, G kind, batch); 256/512 limited by the nodal solver's cost
    (a 512 x 512 1T1R solve takes minutes per batch here): fewer cases and 8 vectors per input kind."""
    sizes = (32, 64, 128) if quick else (32, 64, 128, 256, 512)
    for n in sizes:
        if only and n not in only:
            continue
        if n <= 128:
            for r in (0.5, 2.0, 5.0):
                for label in TRANSISTORS:
                    yield n, r, label, False, "uniform", 16
                    yield n, r, label, True, "mlp", 16
        elif n == 256:
            for r in (2.0, 5.0):
                for label in TRANSISTORS:
                    yield n, r, label, True, "mlp", 8
        else:
            for label in TRANSISTORS:
                yield n, 5.0, label, False, "mlp", 8
            yield n, 0.5, "0.9V/4.2kohm", False, "mlp", 8


def error_table(model, w, hidden, rng, quick: bool, only: tuple[int, ...] = ()) -> list[dict]:
    rows = []
    for n, r, label, diff, kind, batch in cases(quick, only):
        t = TRANSISTORS[label]
        spec = CrossbarSpec(n, n, r, r, cell="1t1r", transistor=t, differential=diff)
        g = conductances(rng, kind, n, w, diff)
        batches = input_batches(rng, n, hidden, batch)
        v_all = np.concatenate(list(batches.values()))
        start = time.perf_counter()
        i_all = solve_nodal(spec, g, v_all)
        t_nodal = time.perf_counter() - start
        m = model.with_circuit(r_row=r, r_col=r, differential=diff, transistor=t)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ValidityRangeWarning)
            out = m.bind(g).apply(v_all, dtype=np.float64)
        extrap = any(issubclass(c.category, ValidityRangeWarning) for c in caught)
        for k, (name, v) in enumerate(batches.items()):
            sl = slice(k * batch, (k + 1) * batch)
            err, err_ideal = nrms_error(out[sl], i_all[sl]), nrms_error(ideal_currents(g, v), i_all[sl])
            status = ("worse" if err > err_ideal else "n/a" if err_ideal < 0.10 else
                      "met" if err <= TARGET else "MISSED")
            rows.append({"n": n, "r": r, "t": label, "diff": diff, "g": kind, "inputs": name, "err_ideal": err_ideal,
                         "err_model": err, "status": status, "extrap": extrap})
            print("  " + format_rows(rows[-1:]).splitlines()[1], flush=True)
        print(f"  ({n}x{n} {r:g} ohm {label}{' diff' if diff else ''} {kind}: nodal {t_nodal:.1f} s)", flush=True)
    return rows


def ngspice_check(model, w, hidden, rng) -> list[str]:
    """Nodal vs ngspice and model vs ngspice at 32 x 32, 5 ohm, both transistors."""
    lines = []
    for label, t in TRANSISTORS.items():
        spec = CrossbarSpec(32, 32, 5.0, 5.0, cell="1t1r", transistor=t)
        g = conductances(rng, "uniform", 32, w, False)
        v = input_batches(rng, 32, hidden, 8)["dnn(mlp)"]
        i_spice = simulate_ngspice(spec, g, v)
        i_nodal = solve_nodal(spec, g, v)
        i_model = model.with_circuit(r_row=5.0, r_col=5.0, differential=False, transistor=t).bind(g).apply(
            v, dtype=np.float64)
        lines.append(f"32x32 5 ohm 1T1R {label}: nodal vs ngspice {nrms_error(i_nodal, i_spice):.1e}, model vs "
                     f"ngspice {nrms_error(i_model, i_spice):.3%}, ideal vs ngspice "
                     f"{nrms_error(ideal_currents(g, v), i_spice):.2%}")
    return lines


def speed(model, rng, repeats: int) -> list[str]:
    """1T1R vs passive model at 256 x 256, 2 ohm, batch 256 (bind + apply), interleaved, best of repeats."""
    n, batch = 256, 256
    g = rng.uniform(G_MIN, G_MAX, (n, n))
    v = rng.uniform(0, V_READ, (batch, n)).astype(np.float32)
    one_t = model.with_circuit(r_row=2.0, r_col=2.0, differential=False)
    passive = CrossbarModel.from_params(2.0, 2.0, settings=model.settings)
    t_1t = t_passive = np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ValidityRangeWarning)
        for _ in range(repeats):
            t_1t = min(t_1t, best_time(lambda: one_t.bind(g).apply(v), 1))
            t_passive = min(t_passive, best_time(lambda: passive.bind(g).apply(v), 1))
    return [f"256x256, 2 ohm, linear, batch {batch}, bind + apply (best of {repeats} interleaved repeats):",
            f"  passive model  {t_passive * 1e3:8.1f} ms",
            f"  1T1R model     {t_1t * 1e3:8.1f} ms   ({t_1t / t_passive:.2f}x the passive model)"]


def format_rows(rows: list[dict]) -> str:
    out = [f"{'size':>7} {'r/ohm':>5} {'transistor':<13} {'G':<13} {'inputs':<9} {'ideal':>8} {'model':>8} status"]
    for r in rows:
        g = r["g"] + (" diff" if r["diff"] else "")
        out.append(f"{r['n']:>3}x{r['n']:<3} {r['r']:>5g} {r['t']:<13} {g:<13} {r['inputs']:<9} "
                   f"{100 * r['err_ideal']:7.2f}% {100 * r['err_model']:7.3f}% {r['status']:<6} "
                   f"{'extrap' if r['extrap'] else ''}")
    hard = [r for r in rows if r["err_ideal"] >= 0.10]
    out.append(f"{len(rows)} cases: met {sum(r['status'] == 'met' for r in rows)}, missed "
               f"{sum(r['status'] == 'MISSED' for r in rows)}, worse than ideal "
               f"{sum(r['status'] == 'worse' for r in rows)}; worst model error "
               f"{100 * max(r['err_model'] for r in rows):.3f}% (where ideal >= 10 % off: "
               f"{100 * max((r['err_model'] for r in hard), default=float('nan')):.3f}%)")
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="arrays up to 128 x 128 only")
    parser.add_argument("--repeats", type=int, default=5, help="timing repeats")
    parser.add_argument("--sweep", help="use this calibration sweep file instead of running the built-in one")
    parser.add_argument("--keep-sweep", help="write the calibration sweep to this path")
    parser.add_argument("--sizes", type=int, nargs="+", default=(), help="only these array sizes of the table")
    parser.add_argument("--speed-only", action="store_true",
                        help="only the speed comparison, with CrossbarModel.from_params (no sweep)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(20261616)
    if args.speed_only:
        print("\n".join(speed(CrossbarModel.from_params(2.0, 2.0, cell="1t1r"), rng, args.repeats)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        sweep = args.sweep
        if sweep is None:
            toml = Path(tmp) / "calibration.toml"
            toml.write_text(CALIBRATION_SWEEP)
            start = time.perf_counter()
            sweep = run_sweep(toml, args.keep_sweep or Path(tmp) / "calibration.h5", progress=False)
            print(f"calibration sweep: {time.perf_counter() - start:.0f} s", flush=True)
        model = build_crossbar_model(sweep)
        print(f"model: {model.settings}; validity {model.validity}", flush=True)
        w, hidden, _ = trained_mlp()
        speed_lines = speed(model, rng, args.repeats)
        spice_lines = ngspice_check(model, w, hidden, rng)
        rows = error_table(model, w, hidden, rng, args.quick, tuple(args.sizes))
    print("\n== held-out error (1T1R): rms(I_model - I_ref) / rms(I_ref), reference = nodal solver ==")
    print(format_rows(rows))
    print("\n== reference check against ngspice ==")
    print("\n".join(spice_lines))
    print("\n== speed ==")
    print("\n".join(speed_lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
