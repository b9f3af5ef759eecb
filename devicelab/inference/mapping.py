"""Weight -> conductance mapping (swappable converter objects, as aihwkit's weight converters) and tiling.

A weight matrix W (rows = fan-in, cols = fan-out) is split into tiles of at most ``tile_rows x tile_cols``
devices pairs. On each tile a converter maps W to a differential pair of conductance arrays so that
W ~= (G+ - G-) * scale, with ``scale`` in weight units per S, one value per column of the tile.

A :class:`UnitCell` says how one weight is stored: the cell kind (passive or 1T1R), N devices per polarity
and their significance factors f_k. G+ and G- above are then the significance-weighted averages
sum_k f_k G_k / sum_k f_k of the N devices of each polarity, which sit on adjacent physical columns of the
tile (layout: :mod:`devicelab.spice.crossbar.spec`); their currents are combined in the periphery.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from devicelab.errors import ConfigError
from devicelab.spice.crossbar.spec import AccessTransistor, check_unit_cell

SCALINGS = ("column", "tile")
CELL_KINDS = ("passive", "1t1r")
PROGRAMMING_SCHEMES = ("parallel", "residual")


@dataclass(frozen=True)
class UnitCell:
    """How one weight is stored: cell kind, devices per polarity and their significance.

    Attributes
    ----------
    cell : str
        "passive" (bare resistive device) or "1t1r" (device behind an NMOS access transistor).
    devices_per_polarity : int
        N >= 1 devices per polarity (G+ and G- each); N devices on adjacent physical columns.
    significance : tuple of float or None
        N factors f_k > 0, most significant first (default all 1: plain averaging, Boybat et al. 2018's
        multi-device synapse); e.g. (3, 1) is a more- and a less-significant pair (Joshi et al. 2020's
        pair-of-pairs). The stored conductance is sum_k f_k G_k / sum_k f_k.
    scheme : str
        How the N devices are programmed: "parallel" (every device to the same target, independently) or
        "residual" (in order of significance, each device's target absorbs the programming error of the
        more significant ones: g_k = g + sum_{i<k} f_i (g - G_i) / f_k, clipped to the device range).
    transistor : AccessTransistor or None
        Access transistor of a 1T1R cell (default :class:`AccessTransistor`); its word line must be above
        threshold.
    """

    cell: str = "passive"
    devices_per_polarity: int = 1
    significance: tuple[float, ...] | None = None
    scheme: str = "parallel"
    transistor: AccessTransistor | None = None

    def __post_init__(self):
        if self.cell not in CELL_KINDS:
            raise ConfigError(f"UnitCell.cell: expected one of {CELL_KINDS}, got {self.cell!r}")
        object.__setattr__(self, "significance", check_unit_cell(self.devices_per_polarity, self.significance,
                                                                 "UnitCell"))
        if self.scheme not in PROGRAMMING_SCHEMES:
            raise ConfigError(f"UnitCell.scheme: expected one of {PROGRAMMING_SCHEMES}, got {self.scheme!r}")
        if self.cell == "1t1r":
            if self.transistor is None:
                object.__setattr__(self, "transistor", AccessTransistor())
            if not self.transistor.v_gate > self.transistor.vt0:
                raise ConfigError(f"UnitCell.transistor.v_gate: the word line ({self.transistor.v_gate:g} V) must "
                                  f"be above the threshold vt0 = {self.transistor.vt0:g} V, else the 1T1R cell "
                                  "never conducts")
        elif self.transistor is not None:
            raise ConfigError("UnitCell.transistor: only 1T1R cells have an access transistor")

    @property
    def n(self) -> int:
        """Devices per polarity."""
        return int(self.devices_per_polarity)

    @property
    def slot_weights(self) -> np.ndarray:
        """(N,) weights f_k / sum f of the device slots in the stored conductance (they sum to 1)."""
        f = np.asarray(self.significance, dtype=float)
        return f / f.sum()

    @property
    def noise_factor(self) -> float:
        """Std of the stored conductance relative to one device's, for N independent devices with equal
        noise programmed in parallel: sqrt(sum_k w_k^2) (1 / sqrt(N) for equal significance)."""
        return float(np.sqrt(np.sum(self.slot_weights**2)))

    def combine(self, g_slots) -> np.ndarray:
        """Stored conductance (S) sum_k w_k G_k from per-slot conductances ``g_slots`` (N, ...) in S."""
        g_slots = np.asarray(g_slots)
        if g_slots.shape[0] != self.n:
            raise ConfigError(f"UnitCell.combine: expected {self.n} device slots on axis 0, got shape {g_slots.shape}")
        return np.tensordot(self.slot_weights.astype(g_slots.dtype), g_slots, axes=1)

    def program(self, g_target, program_fn, g_limit: float) -> np.ndarray:
        """Programmed conductances (N, ...) in S of the N devices storing targets ``g_target`` (S).

        ``program_fn(targets) -> programmed`` programs devices (e.g. ``lambda g: model.program(g, rng)``);
        ``g_limit`` (S) is the largest target a device may be given (residual scheme).
        """
        g_target = np.asarray(g_target, dtype=float)
        if self.scheme == "parallel" or self.n == 1:
            return program_fn(np.broadcast_to(g_target, (self.n,) + g_target.shape).copy())
        f = np.asarray(self.significance, dtype=float)
        out = np.empty((self.n,) + g_target.shape)
        error = np.zeros_like(g_target)   # sum_{i<k} f_i (g - G_i)
        for k in range(self.n):
            out[k] = program_fn(np.clip(g_target + error / f[k], 0.0, g_limit))
            error += f[k] * (g_target - out[k])
        return out

    def to_dict(self) -> dict:
        """Plain dict by field name (the transistor as a dict, None for passive cells)."""
        t = self.transistor
        assert self.significance is not None  # a tuple since __post_init__
        return {"cell": self.cell, "devices_per_polarity": self.n, "significance": list(self.significance),
                "scheme": self.scheme,
                "transistor": None if t is None else {k: getattr(t, k) for k in ("v_gate", "vt0", "kp", "w", "l",
                                                                                    "lambda_")}}

    @classmethod
    def from_dict(cls, data: dict) -> "UnitCell":
        """Inverse of :meth:`to_dict`; unknown keys are a ConfigError naming them."""
        unknown = set(data) - {"cell", "devices_per_polarity", "significance", "scheme", "transistor"}
        if unknown:
            raise ConfigError(f"UnitCell: unknown field(s) {sorted(unknown)}")
        values = dict(data)
        if isinstance(values.get("transistor"), dict):
            values["transistor"] = AccessTransistor(**values["transistor"])
        if values.get("significance") is not None:
            values["significance"] = tuple(values["significance"])
        return cls(**values)


@dataclass(frozen=True)
class DifferentialConverter:
    """Differential-pair mapping: positive weights on G+, negative on G-, the other device at 0 S.

    Attributes
    ----------
    g_max : float
        Conductance (S) that the largest |weight| of a column (``scaling="column"``) or of the whole tile
        (``scaling="tile"``) maps to.
    scaling : str
        "column" (one scale per tile column; best use of the conductance range) or "tile" (one per tile).
    """

    g_max: float
    scaling: str = "column"

    def __post_init__(self):
        if not self.g_max > 0:
            raise ConfigError(f"DifferentialConverter: g_max must be > 0 S, got {self.g_max}")
        if self.scaling not in SCALINGS:
            raise ConfigError(f"DifferentialConverter: scaling must be one of {SCALINGS}, got {self.scaling!r}")

    def convert(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Map one tile's weights ``w`` (rows, cols) to (G+ (S), G- (S), scale (cols,) in weight units per S)."""
        w = np.asarray(w, dtype=np.float64)
        w_abs_max = np.abs(w).max(axis=0) if self.scaling == "column" else np.full(w.shape[1], np.abs(w).max())
        # An all-zero column maps to 0 S whatever its scale; pick 1/g_max to keep the scale finite.
        scale = np.where(w_abs_max > 0, w_abs_max, 1.0) / self.g_max
        g = w / scale
        return np.maximum(g, 0.0), np.maximum(-g, 0.0), scale

    def to_weights(self, g_plus, g_minus, scale) -> np.ndarray:
        """Inverse of :meth:`convert`: weights (rows, cols) from conductances (S) and column scales."""
        return (np.asarray(g_plus) - np.asarray(g_minus)) * np.asarray(scale)


@dataclass(frozen=True)
class Tiling:
    """How a (rows, cols) matrix splits into tiles of at most ``tile_rows x tile_cols``."""

    rows: int
    cols: int
    tile_rows: int = 256
    tile_cols: int = 256

    def __post_init__(self):
        if min(self.rows, self.cols, self.tile_rows, self.tile_cols) < 1:
            raise ConfigError(f"Tiling: sizes must be >= 1, got {self}")

    @property
    def row_blocks(self) -> list[slice]:
        """Row ranges of the tile rows (the last one may be shorter)."""
        return [slice(r, min(r + self.tile_rows, self.rows)) for r in range(0, self.rows, self.tile_rows)]

    @property
    def col_blocks(self) -> list[slice]:
        """Column ranges of the tile columns."""
        return [slice(c, min(c + self.tile_cols, self.cols)) for c in range(0, self.cols, self.tile_cols)]

    @property
    def n_tiles(self) -> int:
        """Number of tiles."""
        return len(self.row_blocks) * len(self.col_blocks)

    def per_tile_to_columns(self, values: np.ndarray) -> np.ndarray:
        """Expand per-tile values (n_row_blocks, n_col_blocks) to (n_row_blocks, cols)."""
        widths = [b.stop - b.start for b in self.col_blocks]
        return np.repeat(np.asarray(values), widths, axis=1)


def map_matrix(w: np.ndarray, tiling: Tiling, converter: DifferentialConverter):
    """Map a whole (rows, cols) matrix tile by tile.

    Returns (G+ (rows, cols) S, G- (rows, cols) S, scale (n_row_blocks, cols) weight units per S).
    """
    w = np.asarray(w, dtype=np.float64)
    if w.shape != (tiling.rows, tiling.cols):
        raise ConfigError(f"map_matrix: weights {w.shape} do not match tiling {tiling.rows}x{tiling.cols}")
    g_plus, g_minus = np.empty_like(w), np.empty_like(w)
    scale = np.empty((len(tiling.row_blocks), tiling.cols))
    for r, rows in enumerate(tiling.row_blocks):
        for cols in tiling.col_blocks:
            g_plus[rows, cols], g_minus[rows, cols], scale[r, cols] = converter.convert(w[rows, cols])
    return g_plus, g_minus, scale
