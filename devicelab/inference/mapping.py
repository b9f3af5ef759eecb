"""Weight -> conductance mapping (swappable converter objects, as aihwkit's weight converters) and tiling.

A weight matrix W (rows = fan-in, cols = fan-out) is split into tiles of at most ``tile_rows x tile_cols``
devices pairs. On each tile a converter maps W to a differential pair of conductance arrays so that
W ~= (G+ - G-) * scale, with ``scale`` in weight units per S, one value per column of the tile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from devicelab.errors import ConfigError

SCALINGS = ("column", "tile")


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
