"""Building a crossbar model from a sweep file: calibration, held-out error table, validity range.

The sweep's points (format "devicelab.sweep" v1, read with :func:`devicelab.spice.sweep.results.read_sweep`)
are split by their random draws: every distinct (seed_g, seed_v) pair, i.e. every distinct set of
conductances and inputs, goes either to the calibration set or to the held-out set (alternately, in
point order), so no held-out conductance matrix or input vector is ever used to build the model.

Calibration chooses the cheapest method setting (:data:`CANDIDATES`, cheapest first: number of probe
vectors per side and relaxation tolerance) whose worst calibration error is at most
``target * CALIBRATION_MARGIN``, or else, point by point, within 10 % of the best error any setting reached
on that point (the remaining error is then not the probes' but, e.g., the sinh expansion's); for sinh
devices it fits ``kappa3`` (the scale of the cubic terms) by linear least squares for each setting.

The error of a point is the normalized RMS error over all its vectors and columns,
err = rms(I_model - I_ref) / rms(I_ref), with I_ref the most trusted engine that ran (ngspice, else the
nodal solver) and the same for the ideal V.G model (``err_ideal``). The accuracy target of the model
(:data:`TARGET`, :data:`IDEAL_THRESHOLD`) is err <= 1 % wherever err_ideal >= 10 %, and err <= err_ideal
everywhere.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace

import numpy as np

from devicelab.behavioral.crossbar_model import BoundCrossbar, CrossbarCircuit, CrossbarModel, ModelSettings, Validity
from devicelab.errors import ConfigError
from devicelab.files import sha256_file
from devicelab.spice.crossbar.spec import AccessTransistor
from devicelab.spice.sweep.results import SweepData, SweepRecord, read_sweep

log = logging.getLogger(__name__)

#: Method settings tried in calibration, cheapest first: (probe vectors per side, relaxation tolerance).
#: No setting has fewer than 4 probes: 2 probes are enough up to 256 x 256 / 2 ohm (0.18 % error) but
#: not at 512 x 512 / 5 ohm (1.4 % on signed inputs, 0.33 % with 4), a case small calibration sweeps lack.
CANDIDATES = ((4, 1e-2), (4, 3e-3), (4, 1e-3), (8, 1e-3), (8, 1e-4), (12, 1e-5))
#: Calibration accepts a setting whose worst calibration error is below this fraction of the target.
CALIBRATION_MARGIN = 0.25
#: Error-table targets: model error limit where the ideal model is at least IDEAL_THRESHOLD off.
TARGET = 0.01
#: Error-table target of 1T1R points : 0.5 % where the ideal model is at least IDEAL_THRESHOLD off.
TARGET_1T1R = 0.005
IDEAL_THRESHOLD = 0.10
ERROR_COLUMNS = ("point", "rows", "cols", "r_row", "r_col", "r_driver", "r_sense", "device", "v0", "differential",
                 "conductance", "inputs", "reference", "err_model", "err_ideal", "target", "cell", "v_gate", "vt0",
                 "r_on")


def nrms_error(model: np.ndarray, reference: np.ndarray) -> float:
    """rms(model - reference) / rms(reference) (dimensionless); NaN if the reference is all zero."""
    scale = float(np.sqrt(np.mean(np.square(reference))))
    return float(np.sqrt(np.mean(np.square(model - reference)))) / scale if scale > 0 else math.nan


def record_circuit(rec: SweepRecord) -> CrossbarCircuit:
    """The :class:`CrossbarCircuit` of a sweep point."""
    p = rec.params
    v0 = p.get("v0")
    cell = str(p.get("cell", "passive"))
    transistor = None
    if cell == "1t1r":  # sweeps written before [[transistors]] existed used the default transistor
        default = AccessTransistor()
        transistor = AccessTransistor(**{name: float(p.get(name, getattr(default, name)))
                                         for name in ("v_gate", "vt0", "kp", "w", "l", "lambda_")})
    return CrossbarCircuit(float(p["r_row"]), float(p["r_col"]), float(p["r_driver"]), float(p["r_sense"]),
                           str(p["device"]), None if v0 is None or math.isnan(v0) else float(v0),
                           bool(p["differential"]), cell, transistor, int(p.get("devices_per_polarity", 1)))


def supported(rec: SweepRecord) -> bool:
    """Whether the model covers this point (passive cells, and 1T1R cells whose gate is above threshold)."""
    cell = rec.params.get("cell", "passive")
    if cell == "passive":
        return True
    return cell == "1t1r" and float(rec.params.get("v_gate", 1.8)) > float(rec.params.get("vt0", 0.5))


def target_status(err_model: float, err_ideal: float, target: float = TARGET) -> str:
    """"met"/"MISSED" against the accuracy target (err_model <= ``target``), "n/a" where the ideal model is
    < 10 % off (then the model must only not be worse than ideal: "worse" if it is)."""
    if err_model > err_ideal:
        return "worse"
    if err_ideal < IDEAL_THRESHOLD:
        return "n/a"
    return "met" if err_model <= target else "MISSED"


def error_row(model: CrossbarModel, rec: SweepRecord, i_model: np.ndarray) -> dict:
    """One error-table row (see :data:`ERROR_COLUMNS`) for a point and the model's currents (A)."""
    p, ref = rec.params, rec.reference
    i_ref = rec.currents[ref]
    err, err_ideal = nrms_error(i_model, i_ref), nrms_error(rec.i_ideal, i_ref)
    circuit = record_circuit(rec)
    t = circuit.transistor
    return {"point": int(p["index"]), "rows": int(p["rows"]), "cols": int(p["cols"]), "r_row": float(p["r_row"]),
            "r_col": float(p["r_col"]), "r_driver": float(p["r_driver"]), "r_sense": float(p["r_sense"]),
            "device": str(p["device"]), "v0": float(p.get("v0", math.nan)), "differential": bool(p["differential"]),
            "conductance": str(p["conductance"]), "inputs": str(p["inputs"]), "reference": ref,
            "err_model": err, "err_ideal": err_ideal,
            "target": target_status(err, err_ideal, TARGET_1T1R if circuit.cell == "1t1r" else TARGET),
            "cell": circuit.cell, "v_gate": math.nan if t is None else t.v_gate,
            "vt0": math.nan if t is None else t.vt0, "r_on": circuit.r_on}


def model_on_record(model: CrossbarModel, rec: SweepRecord) -> np.ndarray:
    """The model's currents (A, float64) for a sweep point, with the model bound to the point's circuit."""
    bound = replace(model, circuit=record_circuit(rec)).bind(rec.g)
    return bound.apply(rec.v, dtype=np.float64)


def check_crossbar_model(model: CrossbarModel, sweep) -> list[dict]:
    """Error-table rows of ``model`` on every supported point of ``sweep`` (a path or :class:`SweepData`)."""
    data = sweep if isinstance(sweep, SweepData) else read_sweep(sweep)
    return [error_row(model, rec, model_on_record(model, rec)) for rec in data.records if supported(rec)]


def split_records(records) -> tuple[list[SweepRecord], list[SweepRecord]]:
    """(calibration, held-out): distinct (seed_g, seed_v) draws alternate between the two sets."""
    draws: dict[tuple, int] = {}
    calibration: list[SweepRecord] = []
    held_out: list[SweepRecord] = []
    for rec in records:
        key = (rec.params["seed_g"], rec.params["seed_v"])
        draws.setdefault(key, len(draws))
        (calibration if draws[key] % 2 == 0 else held_out).append(rec)
    return calibration, held_out


def validity_of(records) -> Validity:
    """The range covered by sweep points (sizes, resistances, conductances, |V|, devices, layouts)."""
    def span(values):
        return (min(values), max(values))

    g_all = [r.g for r in records]
    circuits = [record_circuit(r) for r in records]
    transistors = [c.transistor for c in circuits if c.transistor is not None]  # exactly the 1T1R circuits
    access = {} if not transistors else {
        "v_gate": span([t.v_gate for t in transistors]), "vt0": span([t.vt0 for t in transistors]),
        "r_on": span([c.r_on for c in circuits if c.cell == "1t1r"])}
    return Validity(
        rows=span([int(r.params["rows"]) for r in records]), cols=span([int(r.params["cols"]) for r in records]),
        r_wire=span([float(r.params[k]) for r in records for k in ("r_row", "r_col")]),
        r_driver=span([float(r.params["r_driver"]) for r in records]),
        r_sense=span([float(r.params["r_sense"]) for r in records]),
        g=(min(float(g.min()) for g in g_all), max(float(g.max()) for g in g_all)),
        v_max=max(float(np.max(np.abs(r.v))) for r in records),
        devices=tuple(sorted({str(r.params["device"]) for r in records})),
        differential=tuple(sorted({bool(r.params["differential"]) for r in records})),
        cells=tuple(sorted({c.cell for c in circuits})),
        devices_per_polarity=span([c.devices_per_polarity for c in circuits]), **access)


def _fit_kappa3(model: CrossbarModel, records) -> float:
    """Least-squares kappa3 over sinh records (each point weighted by 1 / rms of its reference currents)."""
    num = den = 0.0
    unit = replace(model, settings=replace(model.settings, kappa3=1.0))
    for rec in records:
        bound = replace(unit, circuit=record_circuit(rec)).bind(rec.g)
        linear = BoundCrossbar(bound.model, bound.a_t, (), bound.combine, quadratic=bound.quadratic).apply(
            rec.v, dtype=np.float64)
        cubic = bound.apply(rec.v, dtype=np.float64) - linear
        i_ref = rec.currents[rec.reference]
        w = 1.0 / np.mean(np.square(i_ref))
        num += w * float(np.sum(cubic * (i_ref - linear)))
        den += w * float(np.sum(cubic * cubic))
    return num / den if den > 0 else 1.0


def calibrate(records, circuit: CrossbarCircuit, target: float = TARGET) -> tuple[ModelSettings, list[dict]]:
    """Settings chosen on calibration ``records`` (see the module docstring) and the trial log."""
    trials = []
    validity = validity_of(records)
    sinh = [r for r in records if r.params["device"] == "sinh"]
    tried = []
    for n_probes, tol in CANDIDATES:
        settings = ModelSettings(n_probes=n_probes, tol=tol)
        model = CrossbarModel(circuit, settings, validity)
        if sinh:
            settings = replace(settings, kappa3=_fit_kappa3(model, sinh))
            model = replace(model, settings=settings)
        errors = np.array([nrms_error(model_on_record(model, r), r.currents[r.reference]) for r in records])
        worst = float(np.nanmax(errors))
        trials.append({"n_probes": n_probes, "tol": tol, "kappa3": settings.kappa3, "worst_error": worst})
        log.info("calibration: n_probes=%d tol=%g -> worst calibration error %.3g", n_probes, tol, worst)
        tried.append((settings, errors))
        if worst <= target * CALIBRATION_MARGIN:
            break
    best = np.nanmin(np.stack([errors for _, errors in tried]), axis=0)
    good_enough = np.maximum(target * CALIBRATION_MARGIN, 1.1 * best)
    chosen = next(item for item in tried if np.all((item[1] <= good_enough) | np.isnan(item[1])))
    return chosen[0], trials


def build_crossbar_model(sweep, *, circuit: CrossbarCircuit | None = None, r_wire: float | None = None,
                         target: float = TARGET) -> CrossbarModel:
    """Build a :class:`CrossbarModel` from a sweep (path or :class:`SweepData`).

    ``circuit`` is the circuit the model is bound for by default (default: the sweep's point with the
    largest wire resistance, or, with ``r_wire`` (ohm per segment), the largest point whose row and column
    wires both have that resistance); every point is evaluated with its own circuit. Returns the model with
    its held-out error table, validity range (all supported points) and provenance.
    """
    data = sweep if isinstance(sweep, SweepData) else read_sweep(sweep)
    records = [r for r in data.records if supported(r)]
    skipped = len(data.records) - len(records)
    if skipped:
        log.warning("%d sweep points use cells this model does not cover (1T1R gate at or below threshold); "
                    "skipped", skipped)
    calibration, held_out = split_records(records)
    if not calibration or not held_out:
        raise ConfigError(f"{data.path}: a crossbar model needs at least two distinct conductance/input draws "
                          f"(found {len(calibration) + len(held_out)} usable points in "
                          f"{len({(r.params['seed_g'], r.params['seed_v']) for r in records})} draws)")
    if circuit is None and r_wire is not None:
        matching = [r for r in records
                    if math.isclose(float(r.params["r_row"]), r_wire)
                    and math.isclose(float(r.params["r_col"]), r_wire)]
        if not matching:
            found = sorted({float(r.params["r_row"]) for r in records})
            raise ConfigError(f"{data.path}: no sweep point has r_row = r_col = {r_wire:g} ohm "
                              f"(row wire resistances in the sweep: {', '.join(f'{x:g}' for x in found)} ohm)")
        circuit = record_circuit(max(matching, key=lambda r: int(r.params["rows"])))
    if circuit is None:
        worst = max(records, key=lambda r: (float(r.params["r_row"]) + float(r.params["r_col"]), int(r.params["rows"])))
        circuit = record_circuit(worst)
    settings, trials = calibrate(calibration, circuit, target)
    validity = validity_of(records)
    model = CrossbarModel(circuit, settings, validity)
    table = tuple(error_row(model, rec, model_on_record(model, rec)) for rec in held_out)
    prov = data.provenance
    provenance = {
        "sweep_path": str(data.path), "sweep_sha256": sha256_file(data.path) if data.path else None,
        "sweep_description_sha256": prov.get("description_sha256"), "sweep_description": prov.get("description"),
        "ngspice_version": prov.get("ngspice_version"),
        "netlist_sha256": sorted({str(r.params["netlist_sha256"]) for r in records if "netlist_sha256" in r.params}),
        "calibration_points": [int(r.params["index"]) for r in calibration],
        "held_out_points": [int(r.params["index"]) for r in held_out],
        "calibration_trials": trials, "target": target,
    }
    return CrossbarModel(circuit, settings, validity, table, provenance)


def summarize_errors(rows) -> dict:
    """Counts of target outcomes and the worst model errors of an error table."""
    rows = list(rows)
    hard = [r["err_model"] for r in rows if r["err_ideal"] >= IDEAL_THRESHOLD]
    return {"points": len(rows), "met": sum(r["target"] == "met" for r in rows),
            "missed": sum(r["target"] == "MISSED" for r in rows), "worse": sum(r["target"] == "worse" for r in rows),
            "worst_err_where_ideal_ge_10pct": max(hard) if hard else math.nan,
            "worst_err": max((r["err_model"] for r in rows), default=math.nan)}


def _cell_label(row: dict) -> str:
    """"passive", or "1t1r 1.8V/385ohm" (word line and on-resistance) for 1T1R rows."""
    if row.get("cell", "passive") != "1t1r":
        return "passive"
    return f"1t1r {row['v_gate']:g}V/{row['r_on']:.0f}ohm"


def format_error_table(rows) -> str:
    """Plain-text error table: one line per point, then a summary line."""
    rows = list(rows)
    header = ("point", "size", "r_row/r_col", "drv/sns", "cell", "device", "G", "inputs", "ref", "err_model",
              "err_ideal", "target")
    lines = [(str(r["point"]), f"{r['rows']}x{r['cols']}{' diff' if r['differential'] else ''}",
              f"{r['r_row']:g}/{r['r_col']:g}", f"{r['r_driver']:g}/{r['r_sense']:g}", _cell_label(r),
              r["device"] if r["device"] == "linear" else f"sinh {r['v0']:g}V", r["conductance"], r["inputs"],
              r["reference"], f"{100 * r['err_model']:.3f}%", f"{100 * r['err_ideal']:.2f}%", r["target"])
             for r in rows]
    widths = [max([len(h)] + [len(line[k]) for line in lines]) for k, h in enumerate(header)]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
    out += ["  ".join(c.ljust(w) for c, w in zip(line, widths)) for line in lines]
    s = summarize_errors(rows)
    out.append(f"{s['points']} points: target met {s['met']}, missed {s['missed']}, worse than ideal {s['worse']}; "
               f"worst model error {100 * s['worst_err']:.3f}% (where ideal >= 10% off: "
               f"{100 * s['worst_err_where_ideal_ge_10pct']:.3f}%)")
    return "\n".join(out)
