"""Network-stage section of the demo report: accuracy vs time of shipped networks on real data."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np

from devicelab.errors import ValidityRangeWarning
from devicelab.files import atomic_output
from devicelab.inference.compensation import make_compensation
from devicelab.inference.evaluate import EvaluationResult, evaluate_accuracy_vs_time, merge_layer_warnings
from devicelab.inference.hardware import AnalogHardware
from devicelab.inference.plots import plot_accuracy_vs_time
from devicelab.network.data import load_dataset
from devicelab.network.model import resolve_network

log = logging.getLogger(__name__)
DEMO_TIMES = (1.0, 3600.0, 86400.0, 2592000.0, 31536000.0)
ATTRIBUTION_TIMES = (1.0, 86400.0)


def network_demo(out: Path, hardware: AnalogHardware, dataset: str = "fashion-mnist",
                 test_limit: int | None = 1000, repeats: int = 2, seed: int = 0) -> list[tuple[str, str]]:
    """Evaluate the shipped HWA-trained and float-trained ResNets on ``dataset`` on ``hardware`` (with global,
    no and BatchNorm drift compensation; the compensation of ``hardware`` is replaced per run) and return
    report sections. Writes network_accuracy_vs_time.png and .json into ``out``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    device_src = hardware.sources.get("device")
    pcm_label = (f"{device_src.preset} preset" if device_src is not None and device_src.preset is not None
                 else f"fitted model {device_src.label()}" if device_src is not None
                 else getattr(hardware.device, "name", "given model"))
    xbar_src, adc_src = hardware.sources.get("crossbar"), hardware.sources.get("adc")
    rng = np.random.default_rng(seed)
    test = load_dataset(dataset, "test").subset(test_limit)
    calibration = load_dataset(dataset, "train").subset(256, rng).x
    config = hardware.tile
    runs = [("HWA-trained, global compensation", "resnet-hwa", "global", {}),
            ("HWA-trained, global compensation + column-affine calibration", "resnet-hwa", "global",
             {"calibration": "column-affine"}),
            ("HWA-trained, no compensation", "resnet-hwa", "none", {}),
            ("float-trained, global compensation", "resnet-float", "global", {}),
            ("HWA-trained, BatchNorm re-estimation", "resnet-hwa", "batchnorm", {})]
    combined = None
    floats = {}
    with warnings.catch_warnings(record=True) as caught:
        # Programmed PCM conductances can exceed the crossbar model's G range; the report states it once.
        warnings.simplefilter("always", ValidityRangeWarning)
        for label, name, comp, tile_changes in runs:
            net = resolve_network(name, dataset)
            log.info("network demo: %s (%s)", label, net.name)
            run_hardware = hardware.replace(compensation=make_compensation(comp))
            if tile_changes:
                run_hardware = run_hardware.with_tile(**tile_changes)
            result = evaluate_accuracy_vs_time(net, test, calibration, run_hardware, DEMO_TIMES, repeats, rng)
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
        attribution = evaluate_accuracy_vs_time(resolve_network("resnet-hwa", dataset), test, calibration,
                                                hardware.replace(compensation=make_compensation("global")),
                                                ATTRIBUTION_TIMES, 1, rng, attribution=True,
                                                attribution_pairs=False)
        combined.elapsed_s += attribution.elapsed_s
    validity = [str(m) for m in merge_layer_warnings(
        [w.message for w in caught if issubclass(w.category, ValidityRangeWarning)]).values()]
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
        f"{'behavioral model ' + xbar_src.label() if xbar_src is not None else 'off (no crossbar model)'}. "
        f"ADC: {'behavioral model ' + adc_src.label() if adc_src is not None else f'ideal {config.adc_bits}-bit'}; "
        f"{config.dac_bits}-bit DAC; {config.tile_rows}x{config.tile_cols} tiles, {config.scaling} scaling. "
        f"{repeats} programmings per curve, {combined.n_test} test images "
        f"of {dataset}; mean +- std in %. Float baseline: HWA net {100 * floats[runs[0][0]]:.2f} %, "
        f"float net {100 * floats[runs[3][0]]:.2f} %.",
        "",
        "```",
        combined.table(),
        "```",
        "",
        f"![accuracy vs time]({png.relative_to(out.parent) if out.parent in png.parents else png})",
        "",
        f"({combined.elapsed_s:.0f} s; JSON: {(out / 'network_accuracy_vs_time.json').name})",
    ]
    lines += ["", "Loss attribution (HWA-trained net, global compensation, one programming, every curve from the "
                  "same random draws): each non-ideality alone, and all together. Global compensation corrects a "
                  "uniform conductance drift only: IR drop attenuates each column differently, and the SPICE ADC's "
                  "offset (its transitions sit about 0.2 LSB above the ideal ones) adds a bias per column and row "
                  "tile; together they cost more than apart (the higher-order term). A digital gain and offset per "
                  "column fitted after programming (`--calibration column-affine`, the second curve above), as "
                  "IBM's chips do, removes most of it, as does BatchNorm re-estimation through the analog network. "
                  "`devicelab evaluate --attribution` adds every pair of non-idealities.", "", "```",
              attribution.table(), "```"]
    if validity:
        lines += ["", f"Validity: {len(validity)} layer(s) used the crossbar model outside its validity range:", ""]
        lines += [f"- {text}" for text in validity]
    return [("Network accuracy vs time on PCM", "\n".join(lines))]
