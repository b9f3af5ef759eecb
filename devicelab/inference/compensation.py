"""Drift compensation: separate, swappable objects (as in aihwkit's ``inference.compensation``).

A compensation object measures a *readout* of a programmed layer by sending fixed calibration inputs
through the analog tiles: once right after programming (the reference) and again at each read time.
The digital output of the layer is then multiplied by reference / readout:

- :class:`GlobalDriftCompensation`: one scalar per layer (IBM's global drift compensation, Joshi et al.
  2020, Le Gallo et al. 2018): the mean |output| over all columns and calibration vectors.
- :class:`ColumnDriftCompensation`: one factor per output column (per-column mean |output|).
- :class:`NoCompensation`: factor 1.

- :class:`BatchNormCompensation`: no per-layer factor; instead, at each read time the BatchNorm running
  statistics are re-estimated from calibration images sent through the analog network (Joshi et al.
  2020's adaptive batch-norm statistics, "AdaBS"); see :func:`adapt_batchnorm`.

Calibration vectors are random +-1 inputs from a fixed seed, the same at every read, so the readout
changes only because the devices did (drift, and the read noise drawn for that read). The analog engine
scales them so that their currents stay inside the ADC range (a clipped reference would under-compensate).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from devicelab.errors import ConfigError
from devicelab.network.layers import BatchNorm, Residual

ReadFn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class NoCompensation:
    """No drift compensation (factor 1)."""

    name = "none"
    measures = False
    adapts_batchnorm = False

    def calibration_inputs(self, n_inputs: int) -> np.ndarray:
        """No calibration inputs: an empty (0, n_inputs) array."""
        return np.zeros((0, n_inputs), dtype=np.float32)

    def readout(self, read_fn: ReadFn, n_inputs: int) -> np.ndarray:
        """Nothing to measure; returns 1."""
        return np.float32(1.0)

    def factor(self, reference, readout) -> np.ndarray:
        """Always 1."""
        return np.float32(1.0)


@dataclass(frozen=True)
class GlobalDriftCompensation:
    """One scalar per layer from a calibration read (Joshi et al. 2020 global drift compensation).

    Attributes
    ----------
    n_vectors : int
        Calibration input vectors (random +-1, fixed seed) per readout.
    seed : int
        Seed of the calibration vectors.
    """

    n_vectors: int = 32
    seed: int = 1234
    name = "global"
    measures = True
    adapts_batchnorm = False

    def __post_init__(self):
        if self.n_vectors < 1:
            raise ConfigError(f"{type(self).__name__}: n_vectors must be >= 1, got {self.n_vectors}")

    def calibration_inputs(self, n_inputs: int) -> np.ndarray:
        """The fixed (n_vectors, n_inputs) +-1 calibration inputs (dimensionless, full DAC range)."""
        rng = np.random.default_rng(self.seed)
        return (2.0 * rng.integers(0, 2, (self.n_vectors, n_inputs)) - 1.0).astype(np.float32)

    def _reduce(self, out: np.ndarray) -> np.ndarray:
        return np.float32(np.abs(out).mean())

    def readout(self, read_fn: ReadFn, n_inputs: int) -> np.ndarray:
        """Readout of the layer: ``read_fn`` maps (n, n_inputs) inputs to (n, cols) uncompensated outputs."""
        return self._reduce(read_fn(self.calibration_inputs(n_inputs)))

    def factor(self, reference, readout) -> np.ndarray:
        """Multiplier of the digital output: reference / readout (1 where the readout is 0)."""
        readout = np.asarray(readout, dtype=np.float32)
        safe = np.where(readout > 0, readout, 1.0)
        return np.where(readout > 0, np.asarray(reference, dtype=np.float32) / safe, 1.0).astype(np.float32)


@dataclass(frozen=True)
class ColumnDriftCompensation(GlobalDriftCompensation):
    """One factor per output column: per-column mean |output| over the calibration vectors."""

    name = "column"

    def _reduce(self, out: np.ndarray) -> np.ndarray:
        return np.abs(out).mean(axis=0).astype(np.float32)


@dataclass(frozen=True)
class BatchNormCompensation(NoCompensation):
    """Re-estimate BatchNorm statistics at each read time from the calibration images (no layer factors)."""

    name = "batchnorm"
    adapts_batchnorm = True


def _run_adapting(layers, x, mvm, stats):
    for layer in layers:
        if isinstance(layer, BatchNorm):
            axes = tuple(range(x.ndim - 1))
            mean, var = x.mean(axis=axes, dtype=np.float64), x.var(axis=axes, dtype=np.float64)
            stats[layer.name] = (mean.astype(np.float32), var.astype(np.float32))
            scale, shift = layer.scale_shift(stats[layer.name][0], stats[layer.name][1])
            x = x * scale + shift
        elif isinstance(layer, Residual):
            x = np.maximum(_run_adapting(layer.body, x, mvm, stats) + _run_adapting(layer.shortcut, x, mvm, stats),
                           np.float32(0))
        else:
            x = layer.forward(x, mvm)
    return x


def adapt_batchnorm(network, x: np.ndarray, mvm):
    """A copy of ``network`` whose BatchNorm running mean/var are the batch statistics of images ``x``
    (N, C, H, W) sent through ``mvm`` (each BatchNorm normalizes with its new statistics before the next
    one is measured). ``network`` is not changed."""
    stats: dict = {}
    x = np.ascontiguousarray(np.asarray(x, dtype=np.float32).transpose(0, 2, 3, 1))
    _run_adapting(network.layers, x, mvm, stats)
    arrays = dict(network.arrays())
    for name, (mean, var) in stats.items():
        arrays[f"{name}.mean"], arrays[f"{name}.var"] = mean, var
    return type(network).from_spec(network.spec(), arrays)


COMPENSATIONS = {"none": NoCompensation, "global": GlobalDriftCompensation, "column": ColumnDriftCompensation,
                 "batchnorm": BatchNormCompensation}


def make_compensation(name: str):
    """Compensation object by name (one of :data:`COMPENSATIONS`)."""
    try:
        return COMPENSATIONS[name]()
    except KeyError:
        raise ConfigError(f"unknown drift compensation {name!r}; expected one of {sorted(COMPENSATIONS)}") from None
