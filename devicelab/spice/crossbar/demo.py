"""The crossbar part of ``make demo``: ngspice and the nodal solver on small arrays, agreement and IR drop."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from devicelab.files import atomic_output
from devicelab.spice.crossbar.nodal import solve_nodal
from devicelab.spice.crossbar.plots import plot_error_vs_size, plot_ir_drop
from devicelab.spice.crossbar.simulate import simulate_ngspice
from devicelab.spice.crossbar.spec import CrossbarSpec, ideal_currents

SPICE_SIZES = (8, 16, 32)
NODAL_SIZES = (8, 16, 32, 64, 128)


def _save(figure, path: Path) -> None:
    with atomic_output(path, suffix=".png") as tmp:
        figure.savefig(tmp, format="png", dpi=110)


def run_crossbar_demo(out: Path, rng: np.random.Generator, r_wire: float = 2.0, v0: float = 0.25,
                      n_vectors: int = 8) -> list[tuple[str, str]]:
    """Crossbars with r_row = r_col = ``r_wire`` (ohm), G ~ U[0.25, 25] uS, inputs ~ U[0, 0.2] V: ngspice vs
    nodal with PCM-like sinh cells (v0 in V) for SPICE_SIZES; nodal vs the ideal V.G up to 128 x 128 for linear
    and sinh cells; an IR-drop heat map. Writes PNGs into ``out``; returns report sections (title, Markdown)."""
    rows = ["| N | ngspice (s) | nodal (s) | max rel. disagreement ngspice vs nodal |", "|---|---|---|---|"]
    deviation: dict[str, list[float]] = {"linear cells (IR drop only)": [], f"sinh cells, v0 = {v0:g} V": []}
    for n in NODAL_SIZES:
        g = rng.uniform(0.25e-6, 25e-6, (n, n))
        v = rng.uniform(0.0, 0.2, (n_vectors, n))
        ideal = ideal_currents(g, v)
        for label, device in zip(deviation, ("linear", "sinh")):
            spec = CrossbarSpec(n, n, r_row=r_wire, r_col=r_wire, device=device, v0=v0 if device == "sinh" else None)
            start = time.perf_counter()
            nodal = solve_nodal(spec, g, v)
            t_nodal = time.perf_counter() - start
            deviation[label].append(np.max(np.abs(nodal - ideal)) / np.max(np.abs(ideal)))
            if n in SPICE_SIZES and device == "sinh":
                start = time.perf_counter()
                spice = simulate_ngspice(spec, g, v)
                t_spice = time.perf_counter() - start
                agreement = np.max(np.abs(spice - nodal)) / np.max(np.abs(spice))
                rows.append(f"| {n} | {t_spice:.2f} | {t_nodal:.4f} | {agreement:.1e} |")
            if n == 64 and device == "linear":
                uniform = np.full((1, n), 0.2)
                _, nodes = solve_nodal(spec, g, uniform, return_node_voltages=True)
                _save(plot_ir_drop(nodes.cell[0], uniform[0],
                                   title=f"IR drop, {n}x{n}, r_wire = {r_wire:g} ohm, all rows at 0.2 V"),
                      out / "spice_ir_drop.png")
    _save(plot_error_vs_size(NODAL_SIZES, deviation, ylabel="max |I - I_ideal| / max |I_ideal|",
                             title="Deviation from the ideal V.G vs array size (nodal solver)"),
          out / "spice_error_vs_size.png")
    body = "\n".join([
        f"Crossbars with PCM cells (I = G v0 sinh(V/v0), v0 = {v0:g} V), r_row = r_col = {r_wire:g} ohm, "
        f"G ~ U[0.25, 25] uS, {n_vectors} input vectors ~ U[0, 0.2] V, all vectors in one ngspice DC analysis.",
        "",
        *rows,
        "",
        "Deviation of the circuit (nodal solver) from the ideal product V.G, max |I - I_ideal| / max |I_ideal|:",
        "",
        "| cells | " + " | ".join(f"N={n}" for n in NODAL_SIZES) + " |",
        "|---|" + "---|" * len(NODAL_SIZES),
        *[f"| {label} | " + " | ".join(f"{d:.2%}" for d in values) + " |" for label, values in deviation.items()],
        "",
        "![IR drop heat map](spice_ir_drop.png)",
        "",
        "![Error vs array size](spice_error_vs_size.png)",
    ])
    return [("Stage 2: SPICE co-simulation of crossbars", body)]
