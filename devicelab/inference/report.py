"""Network-stage section of the demo report: accuracy vs time of shipped networks on real data."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np

from devicelab.errors import ValidityRangeWarning
from devicelab.files import atomic_output
from devicelab.inference.analog import AnalogConfig
from devicelab.network.data import load_dataset
from devicelab.inference.evaluate import EvaluationResult, evaluate_accuracy_vs_time
from devicelab.inference.experiment import load_adc, load_crossbar, load_device_model
from devicelab.network.model import resolve_network
from devicelab.inference.plots import plot_accuracy_vs_time

log = logging.getLogger(__name__)
DEMO_TIMES = (1.0, 3600.0, 86400.0, 2592000.0, 31536000.0)
ATTRIBUTION_TIMES = (1.0, 86400.0)


def _load(loader, value):
    """Model objects pass through; paths are loaded."""
    if value is None or not isinstance(value, (str, Path)):
        return value
    return loader(value)


def network_demo(out: Path, device_model=None, crossbar_model=None, adc_model=None, dataset: str = "fashion-mnist",
                 test_limit: int | None = 1000, repeats: int = 2, seed: int = 0) -> list[tuple[str, str]]:
    """Evaluate the shipped HWA-trained and float-trained ResNets on ``dataset`` (global, no and BatchNorm
    drift compensation) and return report sections.

    ``device_model``: path of the fitted model file (or a PCMModel; None: the joshi2020 preset);
    ``crossbar_model``/``adc_model``: paths or model objects (None: no IR drop / ideal 8-bit ADC).
    Writes network_accuracy_vs_time.png and .json into ``out``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if device_model is None:
        pcm, pcm_label = load_device_model(preset_name="joshi2020"), "joshi2020 preset (no fitted model found)"
    elif isinstance(device_model, (str, Path)):
        pcm, pcm_label = load_device_model(device_model), f"fitted model {Path(device_model).name}"
    else:
        pcm, pcm_label = device_model, getattr(device_model, "name", "given model")
    xbar = _load(load_crossbar, crossbar_model)
    adc = _load(load_adc, adc_model)
    rng = np.random.default_rng(seed)
    test = load_dataset(dataset, "test").subset(test_limit)
    calibration = load_dataset(dataset, "train").subset(256, rng).x
    config = AnalogConfig()
    runs = [("HWA-trained, global compensation", "resnet-hwa", "global"),
            ("HWA-trained, no compensation", "resnet-hwa", "none"),
            ("float-trained, global compensation", "resnet-float", "global"),
            ("HWA-trained, BatchNorm re-estimation", "resnet-hwa", "batchnorm")]
    combined = None
    floats = {}
    with warnings.catch_warnings(record=True) as caught:
        # Programmed PCM conductances can exceed the crossbar model's G range; the report states it once.
        warnings.simplefilter("always", ValidityRangeWarning)
        for label, name, comp in runs:
            net = resolve_network(name, dataset)
            log.info("network demo: %s (%s)", label, net.name)
            result = evaluate_accuracy_vs_time(net, test, calibration, pcm, DEMO_TIMES, repeats, rng, config, comp,
                                               xbar, adc)
            floats[label] = result.float_accuracy
            if combined is None:
                combined = EvaluationResult(f"ResNet ({net.n_parameters()} parameters)", dataset, pcm_label,
                                            "see legend", result.config, result.n_test, result.float_accuracy)
            curve = result.curves["all"]
            curve.label = label
            combined.curves[label] = curve
            combined.elapsed_s += result.elapsed_s
        # Which non-ideality costs what: each one alone, next to all together (HWA net, global compensation).
        log.info("network demo: loss attribution (HWA-trained, global compensation)")
        attribution = evaluate_accuracy_vs_time(resolve_network("resnet-hwa", dataset), test, calibration, pcm,
                                                ATTRIBUTION_TIMES, 1, rng, config, "global", xbar, adc,
                                                attribution=True)
        combined.elapsed_s += attribution.elapsed_s
    validity = sorted({str(w.message) for w in caught if issubclass(w.category, ValidityRangeWarning)})
    for w in caught:
        if not issubclass(w.category, ValidityRangeWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    fig = plot_accuracy_vs_time(combined, title=f"small ResNet on {dataset} ({combined.n_test} test images), "
                                                f"{pcm_label}")
    png = out / "network_accuracy_vs_time.png"
    with atomic_output(png, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    combined.meta["float_accuracy_per_run"] = floats
    combined.write_json(out / "network_accuracy_vs_time.json")
    lines = [
        f"Device model: {pcm_label}. Crossbar IR drop: "
        f"{'behavioral model ' + str(crossbar_model) if xbar is not None else 'off (no crossbar model)'}. "
        f"ADC: {'behavioral model ' + str(adc_model) if adc is not None else 'ideal 8-bit'}; 8-bit DAC; "
        f"256x256 tiles, per-column scaling. {repeats} programmings per curve, {combined.n_test} test images "
        f"of {dataset}; mean +- std in %. Float baseline: HWA net {100 * floats[runs[0][0]]:.2f} %, "
        f"float net {100 * floats[runs[2][0]]:.2f} %.",
        "",
        "```",
        combined.table(),
        "```",
        "",
        f"![accuracy vs time]({png.relative_to(out.parent) if out.parent in png.parents else png})",
        "",
        f"({combined.elapsed_s:.0f} s; JSON: {(out / 'network_accuracy_vs_time.json').name})",
    ]
    lines += ["", "Loss attribution (HWA-trained net, global compensation, one programming): each non-ideality "
                  "alone, and all together. Global compensation corrects a uniform conductance drift only; IR drop "
                  "attenuates each column differently and compounds with the ADC's resolution, which BatchNorm "
                  "re-estimation through the analog network absorbs.", "", "```", attribution.table(), "```"]
    if validity:
        lines += ["", f"Validity: {len(validity)} layer(s) used the crossbar model outside its validity range "
                      f"(e.g. {validity[0]})."]
    return [("Network accuracy vs time on PCM", "\n".join(lines))]
