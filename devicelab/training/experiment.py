"""The training experiment behind ``devicelab train`` and the demo: data, device model, schemes, outputs.

:func:`resolve_update_model` turns a model file, a preset name or measured pulse traces into an
:class:`~devicelab.devices.update.UpdateModel`; :func:`run_training_experiment` trains the MLP with the float
baseline and the requested schemes and writes plots and a JSON record into an output folder.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from devicelab.devices.update import UpdateModel, load_update_model, update_preset
from devicelab.errors import ConfigError
from devicelab.files import atomic_output
from devicelab.inference.hardware import AnalogHardware
from devicelab.training.run import TrainConfig, TrainingResult, compare_schemes, plot_training

log = logging.getLogger(__name__)
NETWORKS = ("mlp",)


@dataclass(frozen=True)
class TrainingExperiment:
    """What was run and what came out: per-scheme results (fractions, counts, seconds) and written files."""

    dataset: str
    network: str
    model_name: str
    config: TrainConfig
    results: dict
    files: dict

    def table(self) -> str:
        """Per-epoch test accuracy (%) of every scheme, the float baseline first, as aligned text."""
        names = list(self.results)
        lines = ["epoch " + " ".join(f"{n:>16s}" for n in names)]
        for e in range(self.config.epochs):
            lines.append(f"{e + 1:5d} " + " ".join(f"{100 * self.results[n].test_accuracy[e]:15.2f}%" for n in names))
        lines.append("pulses" + " ".join(f"{self.results[n].pulses:16d}" for n in names))
        lines.append("time/s" + " ".join(f"{self.results[n].seconds:16.1f}" for n in names))
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """JSON-friendly form (accuracies as fractions)."""
        return {"dataset": self.dataset, "network": self.network, "device_model": self.model_name,
                "config": asdict(self.config), "results": {k: v.to_dict() for k, v in self.results.items()},
                "files": {k: str(v) for k, v in self.files.items()}}


def resolve_update_model(device_model=None, preset: str | None = None, pulses=None, save_to=None,
                         report_dir=None, rng: np.random.Generator | None = None,
                         pulse_mapping=None) -> tuple[UpdateModel, dict]:
    """Exactly one of: a device model file with an ``update_model`` group, a preset name, or pulse traces.

    ``pulses`` is a pulse-train folder (set.csv/reset.csv, wide layout, currents at 0.1 V) or a long pulse
    table file (read with ``pulse_mapping``, a :class:`~devicelab.measurements.pulses.PulseMapping`); its fit
    is stored into ``save_to`` (a device model file) when given and plotted into ``report_dir``. Returns the
    model and a dict of written files.
    """
    given = [x is not None for x in (device_model, preset, pulses)]
    if sum(given) != 1:
        raise ConfigError("give exactly one of a device model file, a preset or pulse traces")
    files: dict = {}
    if device_model is not None:
        return load_update_model(device_model), files
    if preset is not None:
        return update_preset(preset), files
    from devicelab.devices.update import save_update_model
    from devicelab.devices.update_fit import fit_update_model, plot_update_fit, plot_update_trajectories
    from devicelab.measurements.pulses import read_pulse_table, read_pulse_trains

    pulses = Path(pulses)
    table = read_pulse_trains(pulses) if pulses.is_dir() else read_pulse_table(pulses, pulse_mapping)
    fit = fit_update_model(table)
    log.info("%s", fit.fit_report())
    if save_to is not None:
        save_update_model(save_to, fit.model, {"source": table.source, "sha256": table.sha256})
        files["device_model"] = Path(save_to)
    if report_dir is not None:
        report_dir = Path(report_dir)
        rng = np.random.default_rng(0) if rng is None else rng
        for name, fig in (("update_fit.png", plot_update_fit(table, fit)),
                          ("update_ramps.png", plot_update_trajectories(table, fit.model, rng))):
            path = report_dir / name
            with atomic_output(path, suffix=".png") as tmp:
                fig.savefig(tmp, format="png", dpi=90)
            files[name.removesuffix(".png")] = path
        text = report_dir / "update_fit.txt"
        with atomic_output(text) as tmp:
            tmp.write_text(fit.fit_report() + "\n")
        files["update_fit_report"] = text
    return fit.model, files


def load_training_data(dataset: str):
    """Train and test splits of ``dataset`` ("digits" or "fashion-mnist") from the network stage's loaders."""
    from devicelab.network.data import load_dataset

    return load_dataset(dataset, "train"), load_dataset(dataset, "test")


def run_training_experiment(dataset: str, hardware: AnalogHardware, schemes, config: TrainConfig,
                            rng: np.random.Generator, *, network: str = "mlp", output_dir=None,
                            progress: bool = False, model_name: str | None = None,
                            extra_files: dict | None = None) -> TrainingExperiment:
    """Train ``network`` on ``dataset`` with the float baseline and each scheme; write outputs to ``output_dir``.

    ``hardware`` gives the pulse-update device model (``hardware.update``) and the tiles' DAC/ADC resolution
    (``hardware.tile.dac_bits``/``adc_bits``; None: no quantization), which replace those of ``config.io``.

    Writes ``training.png`` (test accuracy per epoch) and ``training.json`` (the :meth:`to_dict` record) when
    ``output_dir`` is given; ``extra_files`` (name -> path, e.g. from :func:`resolve_update_model`) are listed
    in the record. Returns a :class:`TrainingExperiment`.
    """
    if network not in NETWORKS:
        raise ConfigError(f"unknown network {network!r}; known: {', '.join(NETWORKS)}")
    model = hardware.update
    if not isinstance(model, UpdateModel):
        raise ConfigError("in-memory training needs a pulse-update device model in the hardware description "
                          "(AnalogHardware.update: a device model file with an update_model group, a preset "
                          "such as nandakumar2018, or fitted pulse traces)")
    tile = hardware.tile
    config = replace(config, io=replace(config.io, dac_bits=tile.dac_bits or 0, adc_bits=tile.adc_bits or 0))
    schemes = ["float"] + [s for s in schemes if s != "float"]
    train, test = load_training_data(dataset)
    results: dict[str, TrainingResult] = compare_schemes(train, test, schemes, model, config, rng, progress)
    experiment = TrainingExperiment(dataset, network, model_name or model.name, config, results,
                                    dict(extra_files or {}))
    if output_dir is not None:
        out = Path(output_dir)
        fig = plot_training(results, f"{network} on {dataset}, device {experiment.model_name}")
        png = out / "training.png"
        with atomic_output(png, suffix=".png") as tmp:
            fig.savefig(tmp, format="png", dpi=90)
        experiment.files["plot"] = png
        record = out / "training.json"
        experiment.files["json"] = record
        with atomic_output(record) as tmp:
            tmp.write_text(json.dumps(experiment.to_dict(), indent=2))
    return experiment


def demo_training_sections(out, pulse_dir, rng: np.random.Generator, device_model_file=None,
                           epochs: int = 8) -> list[tuple[str, str]]:
    """The demo's training stage: fit the real pulse traces (if present), then train an MLP on digits.

    Fits ``pulse_dir`` (set.csv/reset.csv) and stores the update model into ``device_model_file`` (the fit
    stage's model file, when given) or ``out/device_update.h5``; trains float / pulsed SGD / mixed precision
    with the nandakumar2018 PCM preset and, when fitted, with the real device. Returns report sections
    (title, Markdown) with image links relative to ``out``'s parent.
    """
    out = Path(out)
    sections = []
    fitted = None
    if pulse_dir is not None and Path(pulse_dir).is_dir():
        target = Path(device_model_file) if device_model_file is not None else out / "device_update.h5"
        fitted, files = resolve_update_model(pulses=pulse_dir, save_to=target, report_dir=out, rng=rng)
        text = (out / "update_fit.txt").read_text()
        sections.append(("Update-model fit of the real pulse traces", "\n".join([
            f"Source: `{pulse_dir}` (one device, SET/RESET ramps, currents read at 0.1 V). "
            f"Update model stored in `{target.name}` (group `update_model`).", "",
            "```", text.strip(), "```", "",
            f"![update fit]({out.name}/update_fit.png)", "", f"![ramps]({out.name}/update_ramps.png)"])))
    else:
        sections.append(("Update-model fit of the real pulse traces",
                         f"Skipped: pulse-train folder `{pulse_dir}` not present."))
    config = TrainConfig(epochs=epochs)
    runs = [("pcm", update_preset("nandakumar2018"), ("sgd", "mixed-precision"))]
    if fitted is not None:
        runs.append(("real-device", fitted, ("sgd", "mixed-precision")))
    for label, model, schemes in runs:
        sub = out / label
        exp = run_training_experiment("digits", AnalogHardware(update=model), schemes, config, rng, output_dir=sub)
        final = {k: 100 * v.final_accuracy for k, v in exp.results.items()}
        body = [f"MLP 64-100-10 on scikit-learn digits, {epochs} epochs, batch 10, lr 0.1, device update model "
                f"`{exp.model_name}`; test accuracy (%) per epoch:", "", "```", exp.table(), "```", "",
                f"Final: float {final['float']:.2f} %, mixed precision {final['mixed-precision']:.2f} %, "
                f"pulsed SGD {final['sgd']:.2f} %.", "", f"![training]({out.name}/{label}/training.png)"]
        sections.append((f"In-memory training ({label})", "\n".join(body)))
    return sections
