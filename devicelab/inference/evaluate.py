"""Accuracy vs time after programming: the network-level experiment, and its loss attribution.

For each repeat, the network is programmed once (fresh programming noise and drift exponents), then read
at every requested time; each read draws its own accumulated read noise and measures its own drift
compensation. Attribution repeats the experiment with one non-ideality on at a time.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from devicelab.errors import ConfigError
from devicelab.files import atomic_output
from devicelab.inference.analog import NONIDEALITIES, AnalogNetwork
from devicelab.inference.hardware import AnalogHardware
from devicelab.network.data import DataSplit
from devicelab.network.model import Network

log = logging.getLogger(__name__)


@dataclass
class AccuracyCurve:
    """Test accuracy at ``times`` (s) for ``repeats`` independent programmings: ``accuracy`` (repeats, times)."""

    label: str
    times: np.ndarray
    accuracy: np.ndarray

    @property
    def mean(self) -> np.ndarray:
        """Mean accuracy over repeats, per time."""
        return self.accuracy.mean(axis=0)

    @property
    def std(self) -> np.ndarray:
        """Sample standard deviation over repeats (0 for a single repeat), per time."""
        if self.accuracy.shape[0] < 2:
            return np.zeros(self.accuracy.shape[1])
        return self.accuracy.std(axis=0, ddof=1)

    def to_dict(self) -> dict:
        """JSON-able form."""
        return {"label": self.label, "times_s": self.times.tolist(), "accuracy": self.accuracy.tolist(),
                "mean": self.mean.tolist(), "std": self.std.tolist()}


@dataclass
class EvaluationResult:
    """Outcome of :func:`evaluate_accuracy_vs_time`.

    ``curves`` maps a label ("all" for every enabled non-ideality, or a non-ideality name in
    attribution mode) to its :class:`AccuracyCurve`; ``float_accuracy`` is the digital baseline.
    """

    network: str
    dataset: str
    device_model: str
    compensation: str
    config: dict
    n_test: int
    float_accuracy: float
    curves: dict[str, AccuracyCurve] = field(default_factory=dict)
    elapsed_s: float = 0.0
    meta: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-able form (times in s, accuracies as fractions)."""
        return {"network": self.network, "dataset": self.dataset, "device_model": self.device_model,
                "compensation": self.compensation, "config": self.config, "n_test": self.n_test,
                "float_accuracy": self.float_accuracy, "elapsed_s": self.elapsed_s, "meta": self.meta,
                "curves": {k: c.to_dict() for k, c in self.curves.items()}}

    def table(self) -> str:
        """Plain-text table: time, float baseline, mean +- std accuracy of every curve (in %)."""
        labels = list(self.curves)
        times = next(iter(self.curves.values())).times if labels else np.array([])
        widths = [max(16, len(lab)) for lab in labels]
        head = f"{'time (s)':>12} {'float':>7} " + " ".join(f"{lab:>{w}}" for lab, w in zip(labels, widths))
        lines = [head]
        for i, t in enumerate(times):
            cells = [f"{100 * c.mean[i]:.2f} +- {100 * c.std[i]:.2f}" for c in self.curves.values()]
            lines.append(f"{format(t, '.10g'):>12} {100 * self.float_accuracy:7.2f} "
                         + " ".join(f"{x:>{w}}" for x, w in zip(cells, widths)))
        return "\n".join(lines)

    def write_json(self, path: str | os.PathLike) -> Path:
        """Write :meth:`to_dict` as JSON atomically."""
        path = Path(path)
        with atomic_output(path, suffix=".json") as tmp:
            tmp.write_text(json.dumps(self.to_dict(), indent=1, sort_keys=True))
        return path


def parse_times(text: str) -> np.ndarray:
    """Parse "1,3600,86400" into read times (s); each must be a finite number >= 0."""
    try:
        times = np.array([float(part) for part in text.split(",") if part.strip()])
    except ValueError as exc:
        raise ConfigError(f"--times: expected comma-separated seconds, got {text!r} ({exc})") from exc
    if times.size == 0 or not np.all(np.isfinite(times)) or np.any(times < 0):
        raise ConfigError(f"--times: expected finite times >= 0 s, got {text!r}")
    return times


def _curve(network, test, calibration_x, hardware: AnalogHardware, times, repeats, rng, label,
           bar) -> AccuracyCurve:
    accuracy = np.empty((repeats, len(times)))
    for k in range(repeats):
        analog = AnalogNetwork(network, hardware, calibration_x, rng)
        for i, t in enumerate(times):
            accuracy[k, i] = analog.read_at(float(t), rng).accuracy(test.x, test.y)
            if bar is not None:
                bar.update(1)
    log.info("%s: %s", label, np.round(accuracy.mean(axis=0), 4).tolist())
    return AccuracyCurve(label, np.asarray(times, dtype=float), accuracy)


def acting_nonidealities(hardware: AnalogHardware) -> list[str]:
    """The non-idealities of :data:`NONIDEALITIES` that act on this hardware: enabled in its tile settings,
    with a crossbar model for ir_drop and a quantizing ADC (model or adc_bits) for adc."""
    tile = hardware.tile
    out = []
    for name in NONIDEALITIES:
        if not tile.enabled(name):
            continue
        if name == "ir_drop" and hardware.crossbar is None:
            continue
        if name == "adc" and hardware.adc is None and tile.adc_bits is None:
            continue
        out.append(name)
    return out


def attribution_hardware(hardware: AnalogHardware) -> dict[str, AnalogHardware]:
    """One hardware per acting non-ideality, with only that one on (see :func:`acting_nonidealities`)."""
    return {name: hardware.replace(tile=hardware.tile.only(name)) for name in acting_nonidealities(hardware)}


def evaluate_accuracy_vs_time(network: Network, test: DataSplit, calibration_x: np.ndarray,
                              hardware: AnalogHardware, times, repeats: int, rng: np.random.Generator,
                              attribution: bool = False, progress: bool = False) -> EvaluationResult:
    """Accuracy of ``network`` on ``test`` vs read time after programming on analog tiles.

    Parameters
    ----------
    network : the float network; test : test split.
    calibration_x : images used for input-range and ADC calibration (take them from the training split).
    hardware : the :class:`~devicelab.inference.hardware.AnalogHardware` (device model, tiles, crossbar and
        ADC models, drift compensation).
    times : read times (s) after programming; repeats : independent programmings.
    attribution : also run one curve per non-ideality with only that one on.
    """
    from tqdm.auto import tqdm

    times = np.asarray(times, dtype=float)
    if repeats < 1:
        raise ConfigError(f"repeats must be >= 1, got {repeats}")
    if times.size == 0 or np.any(times < 0) or not np.all(np.isfinite(times)):
        raise ConfigError("read times must be given, finite and >= 0 s")
    if len(test) < 1:
        raise ConfigError("the test set is empty (check --test-limit)")
    start = time.perf_counter()
    variants = {"all": hardware}
    if attribution:
        variants.update(attribution_hardware(hardware))
    total = len(variants) * repeats * len(times)
    float_accuracy = network.accuracy(test.x, test.y)
    result = EvaluationResult(network.name, test.name, getattr(hardware.device, "name", "custom"),
                              hardware.compensation.name, dataclasses.asdict(hardware.tile), len(test),
                              float_accuracy)
    with tqdm(total=total, desc=f"evaluate {network.name}", unit="read", disable=not progress) as bar:
        for label, hw in variants.items():
            result.curves[label] = _curve(network, test, calibration_x, hw, times, repeats, rng, label, bar)
    result.elapsed_s = time.perf_counter() - start
    result.meta["hardware"] = hardware.describe()
    return result
