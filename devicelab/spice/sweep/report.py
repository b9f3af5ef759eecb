"""Markdown report of a sweep file (used by the demo): summary statistics, the per-point table and plots."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from devicelab.files import atomic_output
from devicelab.spice.sweep.plots import plot_engine_agreement, plot_ideal_error
from devicelab.spice.sweep.results import format_summary, read_sweep, summarize_sweep


def sweep_report(path, figure_dir) -> str:
    """Markdown text about the sweep file ``path``; figures are written into ``figure_dir`` (PNG) and
    linked relative to it. Errors are full-scale relative (see :mod:`devicelab.spice.sweep.results`)."""
    path, figure_dir = Path(path), Path(figure_dir)
    data = read_sweep(path)
    rows = summarize_sweep(data)
    agreement = [r["err_nodal_ngspice"] for r in rows if not math.isnan(r["err_nodal_ngspice"])]
    sizes = sorted({(r["rows"], r["cols"]) for r in rows}, key=lambda s: s[0] * s[1])
    both = sorted({(r["rows"], r["cols"]) for r in rows if "ngspice" in r["engines"]}, key=lambda s: s[0] * s[1])
    times = {e: sum(r.get(f"time_{e}", 0.0) for r in rows) for e in ("nodal", "ngspice")}
    worst = max(rows, key=lambda r: r["err_ideal"])
    lines = [
        f"Sweep file `{path.name}` ({len(rows)} points, sizes "
        f"{', '.join(f'{a}x{b}' for a, b in sizes)}; ngspice {data.provenance.get('ngspice_version') or 'not used'}"
        f" on {', '.join(f'{a}x{b}' for a, b in both) or 'no points'}).",
        "",
        f"- nodal solver vs ngspice, full-scale relative error over {len(agreement)} points: max "
        f"{max(agreement):.2e}, median {np.median(agreement):.2e}" if agreement else
        "- ngspice did not run (no agreement check in this sweep)",
        f"- ideal V.G model error: median {np.median([r['err_ideal'] for r in rows]):.2e}, worst "
        f"{worst['err_ideal']:.2e} at {worst['rows']}x{worst['cols']}, r_row = {worst['r_row']:g} ohm, "
        f"{worst['device']}, inputs {worst['inputs']}",
        f"- engine time summed over points: nodal {times['nodal']:.2f} s, ngspice {times['ngspice']:.2f} s",
        "",
    ]
    for name, fig in (("sweep_ideal_error.png", plot_ideal_error(rows)),
                      ("sweep_engine_agreement.png", plot_engine_agreement(rows))):
        with atomic_output(figure_dir / name, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=110)
        lines += [f"![{name[:-4].replace('_', ' ')}]({name})", ""]
    lines += ["```", format_summary(rows), "```"]
    return "\n".join(lines)
