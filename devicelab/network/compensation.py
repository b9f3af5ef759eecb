"""Drift compensation: separate, swappable objects (as in aihwkit's ``inference.compensation``).

A compensation object measures a *readout* of a programmed layer by sending fixed calibration inputs
through the analog tiles: once right after programming (the reference) and again at each read time.
The digital output of the layer is then multiplied by reference / readout:

- :class:`GlobalDriftCompensation`: one scalar per layer (IBM's global drift compensation, Joshi et al.
  2020, Le Gallo et al. 2018): the mean |output| over all columns and calibration vectors.
- :class:`ColumnDriftCompensation`: one factor per output column (per-column mean |output|).
- :class:`NoCompensation`: factor 1.

Batch-norm based compensation (re-estimating BatchNorm statistics on a calibration batch at each
read time, Joshi et al. 2020's "AdaBS") acts on the whole network; it is the ``batchnorm`` option of
:meth:`devicelab.network.analog.AnalogNetwork.read_at`.

Calibration vectors are random +-1 inputs from a fixed seed, the same at every read, so the readout
changes only because the devices did (drift, and the read noise drawn for that read).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from devicelab.errors import ConfigError

ReadFn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class NoCompensation:
    """No drift compensation (factor 1)."""

    name = "none"

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


COMPENSATIONS = {"none": NoCompensation, "global": GlobalDriftCompensation, "column": ColumnDriftCompensation}


def make_compensation(name: str):
    """Compensation object by name (one of :data:`COMPENSATIONS`)."""
    try:
        return COMPENSATIONS[name]()
    except KeyError:
        raise ConfigError(f"unknown drift compensation {name!r}; expected one of {sorted(COMPENSATIONS)}") from None
