"""The `devicelab evaluate` experiment: resolve the network and data, run on an AnalogHardware, write plot and JSON."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from devicelab.errors import ConfigError
from devicelab.files import atomic_output
from devicelab.inference.evaluate import EvaluationResult, evaluate_accuracy_vs_time
from devicelab.inference.hardware import AnalogHardware
from devicelab.inference.plots import plot_accuracy_vs_time
from devicelab.network.data import load_dataset
from devicelab.network.model import resolve_network

#: Calibration images (input ranges, ADC full scales) are drawn from the training split.
N_CALIBRATION = 256


@dataclass(frozen=True)
class EvaluationOutputs:
    """Files written by :func:`run_evaluation`: the JSON result and the accuracy-vs-time plot (PNG)."""

    json_path: Path
    plot_path: Path
    energy_plot_path: Path | None = None


def run_evaluation(network: str, dataset: str, times, repeats: int, hardware: AnalogHardware, *,
                   attribution: bool = False, test_limit: int | None = None, seed: int = 0,
                   output_dir: str | os.PathLike = ".", progress: bool = False, strict_validity: bool = False,
                   energy: bool = False,
                   ) -> tuple[EvaluationResult, EvaluationOutputs]:
    """Evaluate ``network`` (a weights file or shipped name) on ``dataset`` on ``hardware``; write JSON + plot.

    ``test_limit`` evaluates only the first N test images (None: the whole test split). Files go to
    ``output_dir`` as ``accuracy_<network>_<compensation>.json`` and ``.png``. ``strict_validity``: fail
    (:class:`~devicelab.errors.ValidityRangeError`) instead of warning when a model leaves its range. With
    ``energy`` the JSON also holds the energy per inference at every read time and ``energy_<network>.png``
    shows the first one's breakdown per layer.
    """
    net = resolve_network(network, dataset)
    test = load_dataset(dataset, "test").subset(test_limit)
    if net.input_shape != test.x.shape[1:]:
        raise ConfigError(f"network {net.name!r} takes inputs {net.input_shape}, data set {dataset!r} "
                          f"has {test.x.shape[1:]}")
    rng = np.random.default_rng(seed)
    calibration = load_dataset(dataset, "train").subset(N_CALIBRATION, rng)
    result = evaluate_accuracy_vs_time(net, test, calibration.x, hardware, times, repeats, rng,
                                       attribution=attribution, progress=progress,
                                       strict_validity=strict_validity, energy=energy)
    result.meta["seed"] = seed
    out = Path(output_dir)
    stem = f"accuracy_{net.name}_{hardware.compensation.name}"
    json_path = result.write_json(out / f"{stem}.json")
    plot_path = out / f"{stem}.png"
    fig = plot_accuracy_vs_time(result)
    with atomic_output(plot_path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    energy_plot = None
    if result.energy:
        from devicelab.inference.plots import plot_energy_breakdown

        energy_plot = out / f"energy_{net.name}.png"
        with atomic_output(energy_plot, suffix=".png") as tmp:
            plot_energy_breakdown(next(iter(result.energy.values()))).savefig(tmp, format="png", dpi=110)
    return result, EvaluationOutputs(json_path, plot_path, energy_plot)
