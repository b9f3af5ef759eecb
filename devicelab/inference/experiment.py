"""The `devicelab evaluate` experiment: resolve network, data and model files, run, write plot and JSON."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from devicelab.errors import ConfigError
from devicelab.files import atomic_output
from devicelab.inference.analog import AnalogConfig
from devicelab.network.data import load_dataset
from devicelab.inference.evaluate import EvaluationResult, evaluate_accuracy_vs_time
from devicelab.network.model import resolve_network
from devicelab.inference.plots import plot_accuracy_vs_time

#: Calibration images (input ranges, ADC full scales) are drawn from the training split.
N_CALIBRATION = 256


def load_device_model(path: str | os.PathLike | None = None, preset_name: str | None = None):
    """PCM model from a device model file (fit stage) or a preset name; exactly one must be given."""
    from devicelab import devices

    if (path is None) == (preset_name is None):
        raise ConfigError("give exactly one of a device model file or a preset name")
    if preset_name is not None:
        return devices.preset(preset_name)
    return devices.load_model(path)


def load_crossbar(path: str | os.PathLike | None):
    """Behavioral crossbar model from its file (behavioral stage), or None."""
    if path is None:
        return None
    from devicelab import behavioral

    loader = getattr(behavioral, "load_crossbar_model", None)
    if loader is None:
        raise ConfigError("this devicelab has no behavioral crossbar model loader yet (load_crossbar_model)")
    return loader(path)


def load_adc(path: str | os.PathLike | None):
    """Behavioral ADC model from its file (behavioral stage), or None."""
    if path is None:
        return None
    from devicelab import behavioral

    loader = getattr(behavioral, "load_adc_model", None)
    if loader is None:
        raise ConfigError("this devicelab has no behavioral ADC model loader yet (load_adc_model)")
    return loader(path)


@dataclass(frozen=True)
class EvaluationOutputs:
    """Files written by :func:`run_evaluation`: the JSON result and the accuracy-vs-time plot (PNG)."""

    json_path: Path
    plot_path: Path


def run_evaluation(network: str, dataset: str, times, repeats: int, *, device_model_path=None, preset=None,
                   crossbar_model_path=None, adc_model_path=None, compensation: str = "global",
                   config: AnalogConfig = AnalogConfig(), attribution: bool = False, test_limit: int | None = None,
                   seed: int = 0, output_dir: str | os.PathLike = ".", progress: bool = False,
                   ) -> tuple[EvaluationResult, EvaluationOutputs]:
    """Evaluate ``network`` (a weights file or shipped name) on ``dataset`` and write JSON + plot to ``output_dir``.

    ``test_limit`` evaluates only the first N test images (None: the whole test split).
    """
    net = resolve_network(network, dataset)
    device_model = load_device_model(device_model_path, preset)
    crossbar_model = load_crossbar(crossbar_model_path)
    adc_model = load_adc(adc_model_path)
    test = load_dataset(dataset, "test").subset(test_limit)
    if net.input_shape != test.x.shape[1:]:
        raise ConfigError(f"network {net.name!r} takes inputs {net.input_shape}, data set {dataset!r} "
                          f"has {test.x.shape[1:]}")
    rng = np.random.default_rng(seed)
    calibration = load_dataset(dataset, "train").subset(N_CALIBRATION, rng)
    result = evaluate_accuracy_vs_time(net, test, calibration.x, device_model, times, repeats, rng, config,
                                       compensation, crossbar_model, adc_model, attribution, progress)
    result.meta.update({"seed": seed, "device_model_file": str(device_model_path) if device_model_path else None,
                        "crossbar_model_file": str(crossbar_model_path) if crossbar_model_path else None,
                        "adc_model_file": str(adc_model_path) if adc_model_path else None})
    out = Path(output_dir)
    stem = f"accuracy_{net.name}_{compensation}"
    json_path = result.write_json(out / f"{stem}.json")
    plot_path = out / f"{stem}.png"
    fig = plot_accuracy_vs_time(result)
    with atomic_output(plot_path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return result, EvaluationOutputs(json_path, plot_path)
