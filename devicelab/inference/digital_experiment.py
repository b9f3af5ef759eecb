"""Experiments with the digital MRAM PIM engine: accuracy vs bit error rate and vs storage time, and the side by
side comparison with analog PCM tiles on the same data set."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from devicelab.behavioral.bitops import BitOpsModel
from devicelab.errors import ConfigError
from devicelab.inference.digital import DigitalPIMConfig, digital_accuracy, exact_accuracy, full_adder_errors

#: The read times of the side-by-side table (s): 1 s, 1 day, 1 year.
COMPARE_TIMES = (1.0, 86400.0, 31536000.0)


def accuracy_vs_error_scale(network, x, y, bitops: BitOpsModel, factors, repeats: int, rng: np.random.Generator,
                            config: DigitalPIMConfig = DigitalPIMConfig()) -> list[dict]:
    """Accuracy with every error probability of ``bitops`` multiplied by each of ``factors`` (0 = exact).

    Each row: ``factor``, ``p_and`` (mean AND error), ``p_sum``, ``p_carry`` (full-adder step errors of the
    configured adder), ``accuracy`` (mean over ``repeats``), ``std``.
    """
    rows = []
    for factor in factors:
        model = bitops.scaled(float(factor))
        p_sum, p_carry = full_adder_errors(model, config.adder)
        acc = [digital_accuracy(network, x, y, model, config, rng=rng)["accuracy"] for _ in range(repeats)]
        rows.append({"factor": float(factor), "p_and": model.mean_error("and2"), "p_sum": p_sum,
                     "p_carry": p_carry, "accuracy": float(np.mean(acc)),
                     "std": float(np.std(acc, ddof=1)) if repeats > 1 else 0.0})
    return rows


def accuracy_vs_time(network, x, y, bitops: BitOpsModel, times, repeats: int, rng: np.random.Generator,
                     config: DigitalPIMConfig = DigitalPIMConfig()) -> list[dict]:
    """Accuracy after storage times ``times`` (s): retention and read disturb flip stored weight bits.

    Each row: ``t`` (s), ``p_flip`` (per stored bit), ``accuracy`` (mean over ``repeats``), ``std``,
    ``energy_per_image`` (J), ``latency_per_image`` (s).
    """
    rows = []
    for t in times:
        runs = [digital_accuracy(network, x, y, bitops, config, t_storage=float(t), rng=rng) for _ in range(repeats)]
        acc = [r["accuracy"] for r in runs]
        rows.append({"t": float(t), "p_flip": bitops.stored_flip_probability(float(t), config.reads_per_second * t),
                     "accuracy": float(np.mean(acc)), "std": float(np.std(acc, ddof=1)) if repeats > 1 else 0.0,
                     "energy_per_image": runs[0]["energy_per_image"],
                     "latency_per_image": runs[0]["latency_per_image"]})
    return rows


@dataclass
class ComparisonRow:
    """One technology of the side-by-side table: accuracy (mean, std over repeats) at ``times`` (s), energy and
    latency per inference (J, s; NaN when not available) and a note on where the numbers come from."""

    technology: str
    network: str
    times: tuple
    accuracy: list
    std: list
    energy_per_inference: float = float("nan")
    latency_per_inference: float = float("nan")
    note: str = ""


@dataclass
class Comparison:
    """Result of :func:`compare_pcm_mram`: ``rows``, ``dataset``, ``n_test``, ``exact`` {network: accuracy}."""

    rows: list
    dataset: str
    n_test: int
    exact: dict = field(default_factory=dict)

    def table(self) -> str:
        """Markdown table of the comparison (accuracy in %, energy in nJ, latency in us)."""
        head = ["technology", "network"] + [f"acc. @ {_label(t)} (%)" for t in self.rows[0].times]
        head += ["energy / inference (nJ)", "latency / inference (us)"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in self.rows:
            cells = [r.technology, r.network] + [f"{100 * a:.2f} +- {100 * s:.2f}" for a, s in zip(r.accuracy, r.std)]
            cells += [_fmt(r.energy_per_inference * 1e9), _fmt(r.latency_per_inference * 1e6)]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """JSON-able form."""
        return {"dataset": self.dataset, "n_test": self.n_test, "exact": self.exact,
                "rows": [dataclasses.asdict(r) for r in self.rows]}


def _label(t: float) -> str:
    return {1.0: "1 s", 86400.0: "1 day", 31536000.0: "1 year"}.get(float(t), f"{t:g} s")


def _fmt(value: float) -> str:
    return "n/a" if not np.isfinite(value) else f"{value:.4g}"


def compare_pcm_mram(dataset: str, pcm_network, mram_networks: dict, bitops: BitOpsModel, pcm_hardware, *,
                     times=COMPARE_TIMES, repeats: int = 3, test_limit: int | None = None, seed: int = 0,
                     progress: bool = False) -> Comparison:
    """Accuracy at ``times`` (s), energy and latency per inference of analog PCM and digital MRAM on ``dataset``.

    ``pcm_network``: a float/HWA Network evaluated on PCM tiles through ``devicelab.inference`` with
    ``pcm_hardware`` (an :class:`~devicelab.inference.AnalogHardware`), energy and latency per inference from
    its energy model (:mod:`devicelab.inference.energy`, first programming, read at 1 s or the first time);
    ``mram_networks``: {label: (quantized Network, DigitalPIMConfig)} evaluated with the digital engine and
    ``bitops``.
    """
    from devicelab.inference.evaluate import evaluate_accuracy_vs_time
    from devicelab.network.data import load_dataset

    if repeats < 1:
        raise ConfigError(f"repeats must be >= 1, got {repeats}")
    test = load_dataset(dataset, "test")
    if test_limit is not None:
        test = test.subset(test_limit)
    calibration = load_dataset(dataset, "train").subset(256, np.random.default_rng(seed)).x
    rng = np.random.default_rng(seed)
    rows, exact = [], {}
    pcm = evaluate_accuracy_vs_time(pcm_network, test, calibration, pcm_hardware, list(times), repeats, rng,
                                    progress=progress, energy=True)
    curve = pcm.curves["all"]
    energy, latency = float("nan"), float("nan")
    if pcm.energy:
        first = pcm.energy[min(pcm.energy)]
        energy, latency = float(first.energy.total), float(first.latency)
    device = getattr(pcm_hardware.device, "name", "custom")
    rows.append(ComparisonRow("analog PCM", pcm_network.name, tuple(times), curve.mean.tolist(), curve.std.tolist(),
                              energy, latency, f"device {device}, AnalogHardware defaults (energy model of "
                              "devicelab.inference.energy)"))
    exact[pcm_network.name] = float(pcm.float_accuracy)
    for label, (net, config) in mram_networks.items():
        result = accuracy_vs_time(net, test.x, test.y, bitops, times, repeats, rng, config)
        exact[net.name] = exact_accuracy(net, test.x, test.y)
        rows.append(ComparisonRow(label, net.name, tuple(times), [r["accuracy"] for r in result],
                                  [r["std"] for r in result], result[0]["energy_per_image"],
                                  result[0]["latency_per_image"], f"MTJ {bitops.mtj_name}, adder {config.adder}"))
    return Comparison(rows, dataset, len(test), exact)
