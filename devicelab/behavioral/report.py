"""Report of a crossbar model built from a sweep (used by ``make demo``): model file, plots, Markdown."""

from __future__ import annotations

from pathlib import Path

from devicelab.behavioral.build import (
    TARGET,
    TARGET_1T1R,
    build_crossbar_model,
    format_error_table,
    model_on_record,
    record_circuit,
    summarize_errors,
    supported,
)
from devicelab.behavioral.model_file import save_crossbar_model
from devicelab.behavioral.plots import plot_column_errors, plot_error_vs_size, plot_model_vs_reference
from devicelab.files import atomic_output
from devicelab.spice.sweep.results import read_sweep


def _save(fig, path: Path) -> str:
    with atomic_output(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return path.name


def crossbar_model_report(sweep_path, out: Path, r_wire: float | None = None,
                          name: str = "xbar_model") -> tuple[Path, str]:
    """Build a crossbar model from ``sweep_path`` (bound for ``r_wire`` ohm per segment, see
    :func:`build_crossbar_model`), save it as ``out/<name>.h5`` with three plots (file names prefixed
    by ``name`` unless it is the default), and return (model path, Markdown body)."""
    out = Path(out)
    data = read_sweep(sweep_path)
    model = build_crossbar_model(data, r_wire=r_wire)
    model_path = save_crossbar_model(model, out / f"{name}.h5")
    prefix = "" if name == "xbar_model" else f"{name}_"
    target = TARGET_1T1R if model.circuit.cell == "1t1r" else TARGET
    table = model.error_table
    held = {row["point"] for row in table}
    hardest = max((r for r in data.records if supported(r) and r.params["index"] in held),
                  key=lambda r: next(row["err_ideal"] for row in table if row["point"] == r.params["index"]))
    i_model = model_on_record(model, hardest)
    i_ref = hardest.currents[hardest.reference]
    p = hardest.params
    label = (f"point {p['index']}: {p['rows']}x{p['cols']}, {p['r_row']:g} ohm wires, {p['inputs']} inputs "
             f"(vs {hardest.reference})")
    plots = [
        _save(plot_error_vs_size(table), out / f"{prefix}behavioral_error_vs_size.png"),
        _save(plot_model_vs_reference(i_ref, i_model, hardest.i_ideal, title=label),
              out / f"{prefix}behavioral_scatter.png"),
        _save(plot_column_errors(i_ref, i_model, hardest.i_ideal, title=label),
              out / f"{prefix}behavioral_column_errors.png"),
    ]
    s, summary = model.settings, summarize_errors(table)
    circuit = record_circuit(hardest)
    lines = [
        f"Crossbar model `{model_path.name}` built from `{Path(sweep_path).name}`: calibrated on "
        f"{len(model.provenance['calibration_points'])} points, error measured on {len(table)} held-out points "
        f"(their own conductance and input draws). Method: line attenuations plus a two-sided smooth-probe "
        f"correction; calibrated settings: {s.n_probes} probes per side, relaxation tolerance {s.tol:g}.",
        "",
        f"Target ({100 * target:g} % wherever the ideal V.G model is >= 10 % off, never worse than ideal): met on "
        f"{summary['met']} points, missed on {summary['missed']}, worse than ideal on {summary['worse']}; worst "
        f"held-out error {100 * summary['worst_err']:.3f} %. Hardest held-out point: {label}, circuit {circuit}. "
        f"The model file is bound by default for {model.circuit.r_row:g} ohm row and "
        f"{model.circuit.r_col:g} ohm column segments.",
        "",
        "```",
        format_error_table(table),
        "```",
        "",
    ]
    lines += [f"![{name}]({name})" for name in plots]
    return model_path, "\n".join(lines)
