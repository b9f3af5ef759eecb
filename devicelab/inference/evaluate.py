"""Accuracy vs time after programming: the network-level experiment, and its loss attribution.

For each repeat, the network is programmed once (fresh programming noise and drift exponents), then read
at every requested time; each read draws its own accumulated read noise and measures its own drift
compensation. Attribution repeats the experiment with one non-ideality on at a time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import re
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from devicelab.errors import ConfigError, ValidityRangeError, ValidityRangeWarning
from devicelab.files import atomic_output
from devicelab.inference.analog import NONIDEALITIES, AnalogNetwork, layer_validity_warning, merge_validity
from devicelab.inference.hardware import AnalogHardware
from devicelab.network.data import DataSplit
from devicelab.network.model import Network

log = logging.getLogger(__name__)


@dataclass
class AccuracyCurve:
    """Test accuracy at ``times`` (s) for ``repeats`` independent programmings: ``accuracy`` (repeats, times);
    ``output_error`` (repeats, times), if measured, is the relative output error of every read (see
    :func:`output_error`)."""

    label: str
    times: np.ndarray
    accuracy: np.ndarray
    output_error: np.ndarray | None = None

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
        out = {"label": self.label, "times_s": self.times.tolist(), "accuracy": self.accuracy.tolist(),
               "mean": self.mean.tolist(), "std": self.std.tolist()}
        if self.output_error is not None:
            out["output_error"] = self.output_error.tolist()
        return out


def output_error(logits: np.ndarray, reference: np.ndarray) -> float:
    """Relative output error of a run: mean squared deviation of the logits (N, classes) from the float
    network's ``reference`` logits, divided by the mean square of the reference, both centred per image
    (a softmax ignores a common offset). Dimensionless; independent zero-mean errors add in it."""
    a = logits - logits.mean(axis=1, keepdims=True)
    b = reference - reference.mean(axis=1, keepdims=True)
    return float(np.mean((a - b) ** 2) / max(float(np.mean(b**2)), 1e-300))


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
    #: Read time (s) -> :class:`~devicelab.inference.energy.NetworkEnergy` of the first programming
    #: (``energy=True``).
    energy: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-able form (times in s, accuracies as fractions, energies in J)."""
        out = {"network": self.network, "dataset": self.dataset, "device_model": self.device_model,
               "compensation": self.compensation, "config": self.config, "n_test": self.n_test,
               "float_accuracy": self.float_accuracy, "elapsed_s": self.elapsed_s, "meta": self.meta,
               "curves": {k: c.to_dict() for k, c in self.curves.items()},
               "attribution": attribution_terms(self)}
        if self.energy:
            out["energy"] = {format(t, ".10g"): e.to_dict() for t, e in self.energy.items()}
        return out

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
        terms = attribution_terms(self)
        if terms is not None:
            lines += ["", self.attribution_table(terms)]
        return "\n".join(lines)

    def attribution_table(self, terms: dict) -> str:
        """Loss decomposition of :func:`attribution_terms` as text (accuracy points per read time)."""
        times = terms["times_s"]
        width = max([28] + [len(k) + 12 for k in terms["interaction"]])
        head = f"{'loss (points)':<{width}}" + "".join(f"{'t=' + format(t, '.6g') + ' s':>14}" for t in times)
        lines = [head]

        def row(label, values):
            lines.append(f"{label:<{width}}" + "".join(f"{100 * v:14.2f}" for v in values))

        for k, v in terms["single"].items():
            row(f"{k} alone", v)
        for k, v in terms["interaction"].items():
            row(f"{k} interaction", v)
        row("sum of singles", terms["sum_single"])
        row("singles + pair interactions", terms["explained"])
        row("all on (measured)", terms["all"])
        row("higher-order term", terms["higher_order"])
        if np.all(np.isfinite(terms.get("higher_order_sem", [np.nan]))):
            row("  its standard error", terms["higher_order_sem"])
        error = terms.get("output_error")
        if error is not None:
            lines += ["", f"{'output error (relative MSE, %)':<{width}}"
                      + "".join(f"{'t=' + format(t, '.6g') + ' s':>14}" for t in times)]
            for k, v in error["single"].items():
                row(f"{k} alone", v)
            row("sum of singles", error["sum_single"])
            row("all on (measured)", error["all"])
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


@contextlib.contextmanager
def _validity_once_per_layer(strict: bool):
    """Collect the engine's per-layer :class:`ValidityRangeWarning` over a whole run and re-emit one merged
    warning per layer at the end (strict: raise :class:`ValidityRangeError` at the first one). Yields a dict
    layer -> description, filled at the end."""
    seen: dict[str, str] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ValidityRangeWarning)
        if strict:
            warnings.simplefilter("error", ValidityRangeWarning)
        try:
            yield seen
        except ValidityRangeWarning as exc:
            raise ValidityRangeError(f"strict validity: {exc}") from None
    for w in caught:
        if not issubclass(w.category, ValidityRangeWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    merged = merge_layer_warnings([w.message for w in caught if issubclass(w.category, ValidityRangeWarning)])
    for key, message in merged.items():
        seen[key] = str(message)
        warnings.warn(message, stacklevel=4)


def merge_layer_warnings(found) -> dict:
    """One :class:`ValidityRangeWarning` per layer from the per-bind-call warnings ``found`` of a run (what is
    out of range, widest span over every bind); warnings not about a layer are kept once per text. Returns
    layer name (or message text) -> warning."""
    out: dict[str, object] = {}
    by_layer: dict[str, list] = {}
    for message in found:
        match = re.search(r"on layer '([^']*)'", str(message))
        if match is None:
            out.setdefault(str(message), message)
        else:
            by_layer.setdefault(match.group(1), []).append(message)
    for layer, messages in by_layer.items():
        excess, notes = merge_validity(messages)
        out[layer] = layer_validity_warning(layer, excess, notes, f"seen {len(messages)} times in the run")
    return out


def _curve(network, test, calibration_x, hardware: AnalogHardware, times, seeds, label,
           bar, energies: dict | None = None, reference: np.ndarray | None = None) -> AccuracyCurve:
    """Accuracy (repeats, times); programming k draws from ``default_rng(seeds[k])``, the same for every
    curve of a run (common random numbers: see :func:`evaluate_accuracy_vs_time`). With the float network's
    ``reference`` logits of the test set, also the :func:`output_error` of every read."""
    accuracy = np.empty((len(seeds), len(times)))
    error = np.empty_like(accuracy)
    for k, seed in enumerate(seeds):
        rng = np.random.default_rng(seed)
        analog = AnalogNetwork(network, hardware, calibration_x, rng)
        for i, t in enumerate(times):
            state = analog.read_at(float(t), rng)
            if energies is not None and k == 0:  # energy of the activations of the first programming
                from devicelab.inference.energy import EnergyModel, energy_from_meter, metered_logits

                energy_model = hardware.energy or EnergyModel()
                logits, meter = metered_logits(state, test.x, energy_model)
                accuracy[k, i] = np.mean(logits.argmax(axis=1) == test.y)
                energies[float(t)] = energy_from_meter(meter, analog, float(t), energy_model, accuracy[k, i])
            else:
                logits = state.network.logits(test.x, state)
                accuracy[k, i] = np.mean(logits.argmax(axis=1) == test.y)
            error[k, i] = output_error(logits, reference) if reference is not None else np.nan
            if bar is not None:
                bar.update(1)
    log.info("%s: %s", label, np.round(accuracy.mean(axis=0), 4).tolist())
    return AccuracyCurve(label, np.asarray(times, dtype=float), accuracy,
                         error if reference is not None else None)


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


def attribution_hardware(hardware: AnalogHardware, pairs: bool = True) -> dict[str, AnalogHardware]:
    """One hardware per acting non-ideality with only that one on (see :func:`acting_nonidealities`), and
    with ``pairs`` one per pair of them with only those two on (labelled ``"a+b"``)."""
    names = acting_nonidealities(hardware)
    out = {name: hardware.replace(tile=_only(hardware.tile, [name])) for name in names}
    if pairs:
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                out[f"{a}+{b}"] = hardware.replace(tile=_only(hardware.tile, [a, b]))
    return out


def _only(tile, names):
    """Tile settings with every non-ideality off except ``names`` (output noise keeps its level)."""
    changes = {name: True for name in names if name != "output_noise"}
    ideal = tile.ideal()
    if "output_noise" in names:
        changes["output_noise"] = tile.output_noise
    return dataclasses.replace(ideal, **changes)


def attribution_terms(result: "EvaluationResult") -> dict | None:
    """Loss decomposition (accuracy points lost against the float baseline, per read time) of an attribution
    run: ``single`` loss of each non-ideality alone; ``interaction`` of each pair (loss of the pair minus
    both single losses); ``all`` loss with everything on; ``explained`` = sum of singles + sum of pair
    interactions; ``higher_order`` = all - explained (what pairs do not explain), also per repeat
    (``higher_order_per_repeat``, repeats x times) with its standard error over repeats (``higher_order_sem``, NaN
    for one repeat). None without attribution curves. Means over repeats; fractions of the test set (x 100 for
    points)."""
    curves = result.curves
    if "all" not in curves:
        return None
    singles = {k: result.float_accuracy - c.mean for k, c in curves.items() if k != "all" and "+" not in k}
    if not singles:
        return None
    interaction = {}
    for k, c in curves.items():
        if "+" in k:
            a, b = k.split("+")
            interaction[k] = (result.float_accuracy - c.mean) - singles[a] - singles[b]
    loss_all = result.float_accuracy - curves["all"].mean
    sum_single = sum(singles.values(), np.zeros_like(loss_all))
    explained = sum_single + sum(interaction.values(), np.zeros_like(loss_all))
    out = {"times_s": curves["all"].times.tolist(), "all": loss_all.tolist(),
           "single": {k: v.tolist() for k, v in singles.items()},
           "interaction": {k: v.tolist() for k, v in interaction.items()},
           "sum_single": sum_single.tolist(), "explained": explained.tolist(),
           "higher_order": (loss_all - explained).tolist()}
    # the same decomposition per programming (every curve's repeat k shares programming k's draws)
    loss_k = {k: result.float_accuracy - c.accuracy for k, c in curves.items()}
    per_repeat = loss_k["all"] - sum((loss_k[k] for k in curves if k != "all" and "+" not in k),
                                     np.zeros_like(loss_k["all"]))
    for k in interaction:
        a, b = k.split("+")
        per_repeat = per_repeat - (loss_k[k] - loss_k[a] - loss_k[b])
    out["higher_order_per_repeat"] = per_repeat.tolist()
    n = per_repeat.shape[0]
    out["higher_order_sem"] = (per_repeat.std(axis=0, ddof=1) / np.sqrt(n) if n > 1
                               else np.full(per_repeat.shape[1], np.nan)).tolist()
    error = {k: c.output_error.mean(axis=0) for k, c in curves.items() if c.output_error is not None}
    if len(error) == len(curves):
        error_sum = sum((error[k] for k in singles), np.zeros_like(loss_all))
        out["output_error"] = {"single": {k: error[k].tolist() for k in singles},
                               "pair": {k: error[k].tolist() for k in interaction},
                               "sum_single": error_sum.tolist(), "all": error["all"].tolist()}
    return out


def evaluate_accuracy_vs_time(network: Network, test: DataSplit, calibration_x: np.ndarray,
                              hardware: AnalogHardware, times, repeats: int, rng: np.random.Generator,
                              attribution: bool = False, progress: bool = False,
                              strict_validity: bool = False, attribution_pairs: bool = True,
                              energy: bool = False) -> EvaluationResult:
    """Accuracy of ``network`` on ``test`` vs read time after programming on analog tiles.

    Parameters
    ----------
    network : the float network; test : test split.
    calibration_x : images used for input-range and ADC calibration (take them from the training split).
    hardware : the :class:`~devicelab.inference.hardware.AnalogHardware` (device model, tiles, crossbar and
        ADC models, drift compensation).
    times : read times (s) after programming; repeats : independent programmings.
    attribution : also run one curve per non-ideality with only that one on and one per pair of them
        (see :func:`attribution_terms` for the decomposition); ``attribution_pairs=False`` runs the singles only.
    strict_validity : raise :class:`~devicelab.errors.ValidityRangeError` as soon as a model is used outside
        its validity range (default: one :class:`~devicelab.errors.ValidityRangeWarning` per layer, merged
        over every repeat and read, saying what is out of range and by how much).
    energy : also account the energy per inference of the "all" curve's first programming at every read time
        (:mod:`devicelab.inference.energy`, with ``hardware.energy`` or the defaults) into ``result.energy``.

    Every curve of one run uses common random numbers: programming k of each curve starts from the same seed
    (drawn once from ``rng``), and the engine draws programming noise, drift exponents, read noise and per-MVM
    noise from separate streams, so switching one non-ideality off leaves the others' draws unchanged. The
    differences between curves (attribution singles, pairs, higher-order term) are then not swamped by
    sampling noise.
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
        variants.update(attribution_hardware(hardware, pairs=attribution_pairs))
    total = len(variants) * repeats * len(times)
    seeds = rng.integers(0, 2**63, size=repeats)
    reference = network.logits(test.x)
    float_accuracy = float(np.mean(reference.argmax(axis=1) == test.y))
    result = EvaluationResult(network.name, test.name, getattr(hardware.device, "name", "custom"),
                              hardware.compensation.name, dataclasses.asdict(hardware.tile), len(test),
                              float_accuracy)
    with tqdm(total=total, desc=f"evaluate {network.name}", unit="read", disable=not progress) as bar, \
            _validity_once_per_layer(strict_validity) as seen:
        for label, hw in variants.items():
            energies = result.energy if energy and label == "all" else None
            result.curves[label] = _curve(network, test, calibration_x, hw, times, seeds, label, bar, energies,
                                          reference)
    result.meta["validity"] = seen
    result.elapsed_s = time.perf_counter() - start
    result.meta["hardware"] = hardware.describe()
    return result
