"""Accuracy targets with IR drop: IR drop vs calibration and the pairwise loss attribution, written as Markdown.

Setting: the shipped HWA ResNet on Fashion-MNIST, joshi2020 preset, 8-bit DAC and ADC, global
drift compensation, a crossbar model built from the shipped sweep with 2 ohm segments::

    devicelab sweep run netlists/sweeps/demo.toml -o sweep.h5
    devicelab behavioral build sweep.h5 --r-wire 2 -o xbar_2ohm.h5
    python benchmarks/accuracy_targets.py --crossbar-model xbar_2ohm.h5            # full test set, 3 repeats
    python benchmarks/accuracy_targets.py --crossbar-model xbar_2ohm.h5 --test-limit 500 --repeats 1  # quick

Runs (same seed, so every run programs from the same random stream):

1. no IR drop (the crossbar model off), as the reference;
2. IR drop, no calibration;
3. IR drop + ``column-affine`` calibration fitted after programming;
4. IR drop + ``column-affine`` refreshed at each read;
5. IR drop + IR-drop-aware programming (``--ir-programming``), with the residual per layer;
6. IR drop + IR-drop-aware programming + ``column-affine``;

then the attribution (every non-ideality alone and every pair) with IR drop and no calibration, with the output
error (relative MSE of the logits) of every curve, and a per-layer look at the largest pair interaction
(programming noise with IR drop): the relative error and the gain error of every layer's analog output on
real layer inputs, for each alone and both together. Writes
``accuracy_targets.md`` and ``accuracy_targets.json`` (with ``--seed S``: ``accuracy_targets_seedS``; with
``--attribution-only``: ``..._attribution``) into ``--out`` (default benchmarks/results), which the
README links; every number in them is printed by this script.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from devicelab.files import atomic_output
from devicelab.inference import (
    AnalogConfig,
    AnalogHardware,
    AnalogNetwork,
    evaluate_accuracy_vs_time,
)
from devicelab.network import load_dataset, resolve_network


def layer_errors(net, hardware, calibration, images, names, seeds, t=1.0) -> dict:
    """Per weight layer, over programmings ``seeds``: mean relative MSE and relative gain error (both in %) of
    the analog layer output (compensated, no calibration) against x @ W on the float network's own inputs
    for ``images``, with only the non-idealities ``names`` on, read at ``t`` s."""
    from devicelab.inference.evaluate import _only

    inputs = {}

    def record(layer, x2d):
        inputs[layer.name] = x2d[:: max(1, len(x2d) // 400)][:400].copy()
        return x2d @ layer.matrix

    net.forward(images, record)
    hw = hardware.replace(tile=_only(hardware.tile, names))
    out: dict[str, list] = {}
    for seed in seeds:
        analog = AnalogNetwork(net, hw, calibration, np.random.default_rng(seed))
        state = analog.read_at(t, np.random.default_rng(seed + 1))
        for name, pl in analog.layers.items():
            ideal = inputs[name] @ pl.layer.matrix
            y = state.layer_output(pl, inputs[name])
            power = float(np.mean(ideal**2))
            out.setdefault(name, []).append((100 * float(np.mean((y - ideal) ** 2)) / power,
                                             100 * float(np.mean((y - ideal) * ideal)) / power))
    return {name: np.mean(v, axis=0).tolist() for name, v in out.items()}


RUNS = [
    ("no IR drop (reference)", dict(ir_drop=False)),
    ("IR drop, no calibration", dict()),
    ("IR drop + column-affine", dict(calibration="column-affine")),
    ("IR drop + column-affine, refreshed per read", dict(calibration="column-affine", calibration_refresh=True)),
    ("IR drop + IR-aware programming", dict(ir_programming_iterations=5)),
    ("IR drop + IR-aware programming + column-affine", dict(ir_programming_iterations=5, calibration="column-affine")),
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crossbar-model", required=True, help="crossbar model file (.h5), 2 ohm segments")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--test-limit", type=int, default=None, help="first N test images (default: all)")
    parser.add_argument("--times", default="1,86400", help="read times (s), comma-separated")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-attribution", action="store_true", help="skip the pairwise attribution")
    parser.add_argument("--attribution-only", action="store_true",
                        help="run the attribution (and the per-layer look) only, not the calibration runs")
    parser.add_argument("--attribution-repeats", type=int, default=None,
                        help="repeats of the attribution runs (default: --repeats)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args(argv)
    times = [float(t) for t in args.times.split(",")]
    dataset = "fashion-mnist"
    net = resolve_network("resnet-hwa", dataset)
    test = load_dataset(dataset, "test").subset(args.test_limit)
    base = AnalogHardware.from_files(preset="joshi2020", crossbar_model=args.crossbar_model, compensation="global",
                                     tile=AnalogConfig(dac_bits=8, adc_bits=8))
    rows, curves, residuals = [], {}, {}
    start = time.perf_counter()
    for label, changes in ([] if args.attribution_only else RUNS):
        rng = np.random.default_rng(args.seed)
        calibration = load_dataset(dataset, "train").subset(256, rng).x
        hardware = base.with_tile(**changes)
        result = evaluate_accuracy_vs_time(net, test, calibration, hardware, times, args.repeats, rng)
        curve = result.curves["all"]
        curves[label] = curve.to_dict()
        rows.append((label, curve.mean, curve.std))
        if changes.get("ir_programming_iterations"):
            analog = AnalogNetwork(net, hardware, calibration, np.random.default_rng(args.seed))
            residuals[label] = analog.ir_residuals
        print(f"{label}: " + ", ".join(f"{100 * m:.2f} +- {100 * s:.2f} %" for m, s in zip(curve.mean, curve.std)),
              flush=True)
    if args.attribution_only and args.no_attribution:
        parser.error("--attribution-only and --no-attribution exclude each other")
    attribution = None
    if not args.no_attribution:
        rng = np.random.default_rng(args.seed)
        calibration = load_dataset(dataset, "train").subset(256, rng).x
        attribution = evaluate_accuracy_vs_time(net, test, calibration, base, times,
                                                args.attribution_repeats or args.repeats, rng, attribution=True)
        float_accuracy = attribution.float_accuracy
    else:
        float_accuracy = result.float_accuracy
    layers = None
    if not args.no_attribution:
        rng = np.random.default_rng(args.seed)
        calibration = load_dataset(dataset, "train").subset(256, rng).x
        seeds = [int(s) for s in rng.integers(0, 2**31, size=3)]
        layers = {label: layer_errors(net, base, calibration, test.x[:200], names, seeds)
                  for label, names in [("programming noise", ["programming_noise"]), ("IR drop", ["ir_drop"]),
                                       ("both", ["programming_noise", "ir_drop"])]}
    elapsed = time.perf_counter() - start
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    command = ("python benchmarks/accuracy_targets.py --crossbar-model " + Path(args.crossbar_model).name
               + (f" --test-limit {args.test_limit}" if args.test_limit else "") + f" --repeats {args.repeats}"
               + f" --times {args.times}"
               + (f" --attribution-repeats {args.attribution_repeats}" if args.attribution_repeats else "")
               + (f" --seed {args.seed}" if args.seed else "")
               + (" --attribution-only" if args.attribution_only else ""))
    stem = "accuracy_targets" + (f"_seed{args.seed}" if args.seed else "") + ("_attribution" if args.attribution_only
                                                                             else "")
    lines = ["# Accuracy with IR drop: calibration and attribution (targets)", "",
             f"Printed by `{command}` ({elapsed:.0f} s). HWA ResNet on Fashion-MNIST ({len(test)} test images, "
             f"{args.repeats} repeats), joshi2020 preset, 8-bit DAC and ADC, global drift compensation, crossbar "
             f"model `{Path(args.crossbar_model).name}`; float accuracy {100 * float_accuracy:.2f} %. "
             "Accuracy in %, mean +- std over repeats; gap = reference (no IR drop) minus the run, in points.", ""]
    reference = rows[0][1] if rows else None
    head = "| setting | " + " | ".join(f"t = {t:g} s" for t in times) + " | " + " | ".join(
        f"gap at {t:g} s" for t in times) + " |"
    lines += [head, "|---" * (1 + 2 * len(times)) + "|"] if rows else []
    for label, mean, std in rows:
        cells = [f"{100 * m:.2f} +- {100 * s:.2f}" for m, s in zip(mean, std)]
        gaps = [f"{100 * (r - m):.2f}" for r, m in zip(reference, mean)]
        lines.append(f"| {label} | " + " | ".join(cells) + " | " + " | ".join(gaps) + " |")
    for label, layer_residuals in residuals.items():
        lines += ["", f"IR-aware programming residual (rms error of the effective matrix / rms target, before -> "
                      f"after 5 iterations, clipped to g_max) for '{label}':", ""]
        lines += [f"- {layer}: {before:.4f} -> {after:.4f}" for layer, (before, after) in layer_residuals.items()]
    if attribution is not None:
        lines += ["", "## Loss attribution (IR drop on, no calibration): singles, pair interactions, higher-order term",
                  "", f"{len(attribution.curves)} curves, "
                  f"{attribution.curves['all'].accuracy.shape[0]} repeat(s) each; "
                  "losses in accuracy points against the float baseline, means over repeats.", "", "```",
                  attribution.attribution_table(attribution.to_dict()["attribution"]), "```"]
        terms = attribution.to_dict()["attribution"]
        per_repeat = np.asarray(terms["higher_order_per_repeat"])
        lines += ["", "Higher-order term per programming (points): " + "; ".join(
            f"t = {t:g} s: " + ", ".join(f"{100 * v:.2f}" for v in per_repeat[:, i]) for i, t in enumerate(times))
            + " (see `python benchmarks/attribution_overlap.py` for the images behind it)."]
        error = terms.get("output_error")
        if error is not None:
            lines += ["", "Output error of the pairs (relative MSE of the logits, %), and its excess over the sum of "
                      "the two singles' (0 for independent zero-mean errors):", "",
                      "| pair | " + " | ".join(f"t = {t:g} s" for t in times) + " | "
                      + " | ".join(f"excess at {t:g} s" for t in times) + " |", "|---" * (1 + 2 * len(times)) + "|"]
            for pair, values in error["pair"].items():
                a, b = pair.split("+")
                excess = [v - error["single"][a][i] - error["single"][b][i] for i, v in enumerate(values)]
                lines.append(f"| {pair} | " + " | ".join(f"{100 * v:.2f}" for v in values) + " | "
                             + " | ".join(f"{100 * v:.2f}" for v in excess) + " |")
    if layers is not None:
        lines += ["", "## Where the programming-noise x IR-drop interaction comes from, layer by layer", "",
                  "Analog output of every weight layer on the float network's own inputs (200 test images), read "
                  "at 1 s, global compensation, no calibration, 3 programmings: relative MSE against x @ W and "
                  "relative gain error mean((y - x W) x W) / mean((x W)^2), both in %.", "",
                  "| layer | " + " | ".join(f"{k}: MSE | {k}: gain" for k in layers) + " | MSE excess of both |",
                  "|---" * (2 + 2 * len(layers)) + "|"]
        for name in layers["both"]:
            cells = [f"{layers[k][name][0]:.3f} | {layers[k][name][1]:+.2f}" for k in layers]
            excess = layers["both"][name][0] - layers["programming noise"][name][0] - layers["IR drop"][name][0]
            lines.append(f"| {name} | " + " | ".join(cells) + f" | {excess:+.3f} |")
    text = "\n".join(lines) + "\n"
    with atomic_output(out / f"{stem}.md", suffix=".md") as tmp:
        tmp.write_text(text)
    payload = {"command": command, "elapsed_s": elapsed, "float_accuracy": float_accuracy, "curves": curves,
               "ir_residuals": residuals, "layer_errors": layers,
               "attribution": attribution.to_dict() if attribution is not None else None}
    with atomic_output(out / f"{stem}.json", suffix=".json") as tmp:
        tmp.write_text(json.dumps(payload, indent=1, default=float))
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
