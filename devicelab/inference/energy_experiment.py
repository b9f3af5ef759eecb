"""Energy experiments behind ``devicelab energy``: one network, the accuracy-energy trade-off, one tile.

- :func:`run_network_energy`: energy per inference (per layer, by part), latency, TOPS/W and accuracy of a
  network on the same hardware description as ``devicelab evaluate``, written as JSON plus a stacked-bar plot.
- :func:`run_tradeoff`: the same for every combination of ADC model (one SPICE-characterized model per
  resolution), tile size and v_read; writes the table (JSON and CSV) and a Pareto plot.
- :func:`tile_efficiency`: energy and TOPS/W of one tile with random weights and inputs at full DAC
  resolution, for comparison with published chips (README).
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from devicelab.behavioral.periphery import (
    BREAKDOWN,
    NEUROSIM_SAR_45NM_LP,
    EnergyBreakdown,
    adc_costs,
    tile_mvm_energy,
)
from devicelab.errors import ConfigError
from devicelab.files import atomic_output
from devicelab.inference.analog import AnalogNetwork
from devicelab.inference.energy import (
    OPS_PER_MAC,
    EnergyModel,
    NetworkEnergy,
    network_energy,
)
from devicelab.inference.experiment import N_CALIBRATION
from devicelab.inference.hardware import AnalogHardware
from devicelab.inference.plots import plot_energy_breakdown, plot_pareto
from devicelab.network.data import load_dataset
from devicelab.network.model import resolve_network


@dataclass(frozen=True)
class Workload:
    """Network, test images and calibration images of an energy run."""

    network: object
    test: object
    calibration_x: np.ndarray


def resolve_workload(network: str, dataset: str, *, test_limit: int | None = None,
                     rng: np.random.Generator) -> Workload:
    """Load the network, the test split (first ``test_limit`` images) and calibration images (training split)."""
    net = resolve_network(network, dataset)
    test = load_dataset(dataset, "test").subset(test_limit)
    if net.input_shape != test.x.shape[1:]:
        raise ConfigError(f"network {net.name!r} takes inputs {net.input_shape}, data set {dataset!r} has "
                          f"{test.x.shape[1:]}")
    return Workload(net, test, load_dataset(dataset, "train").subset(N_CALIBRATION, rng).x)


def measure(workload: Workload, hardware: AnalogHardware, t: float, rng: np.random.Generator) -> NetworkEnergy:
    """Program ``workload.network`` on ``hardware`` and measure energy and accuracy at read time ``t`` (s), with
    the hardware's energy model (defaults when it has none)."""
    analog = AnalogNetwork(workload.network, hardware, workload.calibration_x, rng)
    return network_energy(analog, workload.test.x, t, rng, y=workload.test.y)


def _write_json(path: Path, record: dict) -> Path:
    with atomic_output(path, suffix=".json") as tmp:
        tmp.write_text(json.dumps(record, indent=1, default=float) + "\n")
    return path


def _write_figure(path: Path, figure) -> Path:
    with atomic_output(path, suffix=".png") as tmp:
        figure.savefig(tmp, format="png", dpi=110)
    return path


def run_network_energy(network: str, dataset: str, hardware: AnalogHardware, *, t: float = 1.0, seed: int = 0,
                       test_limit: int | None = None, output_dir: str | os.PathLike = ".",
                       ) -> tuple[NetworkEnergy, list[Path]]:
    """Energy per inference of ``network`` on ``dataset`` on ``hardware`` read at ``t`` (s); writes
    ``energy_<network>.json`` and ``.png`` (stacked bars per layer) to ``output_dir``."""
    rng = np.random.default_rng(seed)
    workload = resolve_workload(network, dataset, test_limit=test_limit, rng=rng)
    result = measure(workload, hardware, t, rng)
    out = Path(output_dir)
    stem = f"energy_{workload.network.name}"
    record = result.to_dict() | {"network": workload.network.name, "dataset": dataset, "seed": seed,
                                 "hardware": hardware.describe()}
    paths = [_write_json(out / f"{stem}.json", record),
             _write_figure(out / f"{stem}.png", plot_energy_breakdown(result))]
    return result, paths


def run_tradeoff(network: str, dataset: str, hardware: AnalogHardware, *, adc_model_paths: list,
                 tile_sizes: list[int], v_reads: list[float], t: float = 1.0, seed: int = 0,
                 test_limit: int | None = None, output_dir: str | os.PathLike = ".") -> tuple[list[dict], list[Path]]:
    """Accuracy and energy per inference of ``hardware`` with every (ADC model file, tile size, v_read) swapped
    in; each point programs the network afresh with the same seed. Writes ``tradeoff_<network>.json``,
    ``.csv`` and the Pareto plot ``.png`` to ``output_dir``; returns the rows and the paths."""
    if not adc_model_paths or not tile_sizes or not v_reads:
        raise ConfigError("trade-off: give at least one ADC model, one tile size and one v_read")
    workload = resolve_workload(network, dataset, test_limit=test_limit, rng=np.random.default_rng(seed))
    rows = []
    for adc_path in adc_model_paths:
        with_adc = hardware.with_files(adc_model=adc_path)
        for size in tile_sizes:
            for v_read in v_reads:
                point = with_adc.with_tile(tile_rows=size, tile_cols=size, v_read=v_read, adc_bits=with_adc.adc.bits)
                result = measure(workload, point, t, np.random.default_rng(seed))
                rows.append({"adc_bits": with_adc.adc.bits, "adc_model": str(adc_path), "tile_size": size,
                             "v_read_V": v_read, "accuracy": result.accuracy,
                             "energy_J": result.energy.total, "tops_per_watt": result.tops_per_watt,
                             "latency_s": result.latency,
                             **{f"{part}_J": getattr(result.energy, part) for part in BREAKDOWN}})
    out = Path(output_dir)
    stem = f"tradeoff_{workload.network.name}"
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    with atomic_output(out / f"{stem}.csv", suffix=".csv") as tmp:
        tmp.write_text(text.getvalue())
    points = [{"energy": r["energy_J"], "accuracy": r["accuracy"],
               "label": f"{r['adc_bits']}b/{r['tile_size']}/{r['v_read_V']:g}V"} for r in rows]
    figure = plot_pareto(points, f"{workload.network.name}: accuracy vs energy per inference (t = {t:g} s; "
                                 "labels ADC bits / tile size / v_read)")
    paths = [_write_json(out / f"{stem}.json", {"format": "devicelab.energy_tradeoff", "format_version": 1,
                                                "network": workload.network.name, "dataset": dataset,
                                                "read_time_s": t, "seed": seed, "n_test": len(workload.test.x),
                                                "hardware": hardware.describe(), "rows": rows}),
             out / f"{stem}.csv", _write_figure(out / f"{stem}.png", figure)]
    return rows, paths


def tile_efficiency(rows: int, cols: int, *, g_max: float, v_read: float, dac_bits: int, adc_model,
                    energy_model: EnergyModel, rng: np.random.Generator, n_vectors: int = 16,
                    crossbar_spec=None) -> dict:
    """Energy per MVM and TOPS/W of one ``rows`` x ``cols`` tile (differential G+/G- pairs) with uniform random
    weights (conductances in [0, g_max] S) and uniform random ``dac_bits`` inputs in [0, v_read] V.

    The array, wires and driver/sense energy come from the nodal circuit (``crossbar_spec`` with zero wire
    resistance when None); a NeuroSim-style estimate of the same tile (NeuroSim V1.3's formulas: bit lines
    charged to V_read and active row lines to v_dd, C V^2; its SAR ADC column-power fit at 45 nm LP, whose
    column-current term stands for the cell energy; no driver or integrator model; the same digital
    operations) is returned alongside. Everything per MVM in J; TOPS/W with 2 operations per MAC.
    """
    from devicelab.spice.crossbar.spec import CrossbarSpec

    spec = crossbar_spec or CrossbarSpec(rows, cols, differential=True)
    if (spec.rows, spec.cols, spec.differential) != (rows, cols, True):
        raise ConfigError(f"tile_efficiency: crossbar_spec must be a differential {rows}x{cols} spec")
    levels = 2**dac_bits - 1
    v = rng.integers(0, levels + 1, (n_vectors, rows)) * (v_read / levels)
    g = rng.uniform(0.0, g_max, spec.g_shape)
    periphery, table = energy_model.periphery, energy_model.table
    breakdown, _ = tile_mvm_energy(spec, g, v, v_read, periphery, table, adc_model)
    mean = EnergyBreakdown(*(float(np.mean(getattr(breakdown, n))) for n in BREAKDOWN))
    macs = rows * cols
    adc = adc_costs(adc_model, adc_model.bits, table.clock_frequency)
    latency = periphery.t_read + min(periphery.adc_sharing, cols) * adc.time
    # NeuroSim-style (V1.3 SubArray.cpp / SarADC.cpp): array = bit lines charged to V_read (capCol x V_read^2
    # per column read) plus the selected row lines at v_dd (capRow x v_dd^2 per active row); ADC = SAR column
    # power (a log2(levels) + b) W + 0.100225 (R_col 0.5 / V_read)^-1.0002 W (the column-current term, which
    # stands in for the cell energy) for (bits + 1) clock cycles, per physical column, halved to one
    # conversion per logical column like the model above; digital as above.
    per_bit, base = NEUROSIM_SAR_45NM_LP
    n_active = float(np.mean(np.count_nonzero(v, axis=1)))
    neurosim_array = (rows * periphery.c_col_per_cell * v_read**2 * 2 * cols
                      + 2 * cols * periphery.c_row_per_cell * periphery.v_dd**2 * n_active)
    column_r = 0.5 / v_read / np.maximum(g.sum(axis=1), 1e-30)  # (2, cols) ohm, NeuroSim's Vread scaling
    cycles = (adc.bits + 1) / table.clock_frequency
    neurosim_adc = float(np.sum((per_bit * adc.bits + base + 0.100225 * column_r ** (-1.0002)) * cycles)) / 2
    neurosim_total = neurosim_adc + neurosim_array + mean.digital
    return {"rows": rows, "cols": cols, "g_max_S": g_max, "v_read_V": v_read, "dac_bits": dac_bits,
            "adc_bits": adc.bits, "adc_source": adc.source, "n_vectors": n_vectors, "macs_per_mvm": macs,
            "energy_per_mvm_J": mean.to_dict(), "latency_per_mvm_s": latency,
            "tops_per_watt": OPS_PER_MAC * macs / mean.total / 1e12,
            "tops": OPS_PER_MAC * macs / latency / 1e12,
            "neurosim_style": {"array_J": neurosim_array, "adc_J": neurosim_adc, "digital_J": mean.digital,
                               "total_J": neurosim_total, "tops_per_watt": OPS_PER_MAC * macs / neurosim_total / 1e12},
            "periphery": periphery.to_dict(), "table": table.name}


def demo_energy(out: str | os.PathLike, adc_models: dict, hardware: AnalogHardware, dataset: str = "fashion-mnist",
                test_limit: int = 500, seed: int = 0) -> list[tuple[str, str]]:
    """The demo's energy section: the shipped HWA ResNet's energy per inference with its breakdown, and a small
    accuracy-energy trade-off on ``hardware`` with the SPICE-characterized ``adc_models`` (bits -> model file)
    swapped in and tile sizes 128 and 256 (v_read 0.2 V), at t = 1 day. Writes plots and tables into ``out``;
    returns report sections (title, Markdown body)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    workload = resolve_workload("resnet-hwa", dataset, test_limit=test_limit, rng=np.random.default_rng(seed))
    t = 86400.0
    rows = []
    base = None
    for bits, adc_path in sorted(adc_models.items()):
        with_adc = hardware.with_files(adc_model=adc_path)
        for size in (128, 256):
            for v_read in (0.2,):
                point = with_adc.with_tile(tile_rows=size, tile_cols=size, v_read=v_read, adc_bits=with_adc.adc.bits)
                result = measure(workload, point, t, np.random.default_rng(seed))
                if base is None or (bits, size, v_read) == (max(adc_models), 256, 0.2):
                    base = result
                rows.append({"label": f"{with_adc.adc.bits}b/{size}/{v_read:g}V", "adc_bits": with_adc.adc.bits,
                             "tile_size": size, "v_read_V": v_read, "accuracy": result.accuracy,
                             "energy": result.energy.total, "tops_per_watt": result.tops_per_watt})
    _write_figure(out / "energy_breakdown.png", plot_energy_breakdown(base))
    _write_figure(out / "energy_tradeoff.png", plot_pareto(rows, f"HWA ResNet, {len(workload.test.x)} {dataset} test "
                                                                 "images, t = 1 day (ADC bits / tile size / v_read)"))
    _write_json(out / "energy_tradeoff.json", {"rows": rows, "read_time_s": t, "n_test": len(workload.test.x),
                                               "hardware": hardware.describe()})
    table = ["| ADC bits | tile | v_read (V) | accuracy (%) | energy per inference (J) | TOPS/W |",
             "|---|---|---|---|---|---|"]
    table += [f"| {r['adc_bits']} | {r['tile_size']} | {r['v_read_V']:g} | {100 * r['accuracy']:.1f} | "
              f"{r['energy']:.3g} | {r['tops_per_watt']:.3g} |" for r in rows]
    breakdown = ", ".join(f"{k} {v:.3g} J" for k, v in base.energy.to_dict().items())
    calibrated = [l.calibration for l in base.layers if l.calibration.get("method") == "nodal-calibrated"]
    method = (f"ideal tile currents calibrated per layer and tile shape against the nodal solver of the crossbar "
              f"model's circuit (error before calibration up to {max(c['ideal_error'] for c in calibrated):.2g}, "
              f"after up to {max(c['calibrated_error'] for c in calibrated):.2g} per calibration vector)"
              if calibrated else "ideal tile currents (no crossbar model)")
    summary = (f"Energy per inference of the HWA ResNet ({base.adc.bits}-bit SPICE SAR ADC, 256x256 tiles, v_read "
               f"0.2 V; 2 operations per MAC): {breakdown}; latency {base.latency:.3g} s; {base.tops_per_watt:.3g} "
               f"TOPS/W. Array energy: {method}; compensation: {hardware.compensation.name}.")
    body = "\n".join([
        summary,
        "", "![energy per layer](energy/energy_breakdown.png)", "",
        "Trade-off (each ADC characterized in ngspice; each point programs the network afresh with the same seed):",
        "", *table, "", "![accuracy vs energy](energy/energy_tradeoff.png)"])
    return [("Energy per inference and the accuracy-energy trade-off", body)]
