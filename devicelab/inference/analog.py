"""Analog matrix-vector engine: networks on PCM crossbar tiles, programmed once and read at many times.

Signal chain of one weight layer (W: rows = fan-in, cols = fan-out), float32 throughout:

1. **DAC / input range management**: x is divided by the layer's input range ``alpha`` (a percentile of
   |x| on calibration data), clipped to [-1, 1], quantized to ``dac_bits`` (signed, mid-tread) and applied
   as read voltages v = x_q * v_read (V).
2. **Tiles**: W is split into tiles (default 256x256); on each tile a converter maps W to conductance
   pairs, W ~= (G+ - G-) * scale (per-column or per-tile scale, :mod:`~devicelab.inference.mapping`).
3. **Devices** (a :class:`~devicelab.devices.PCMModel`): :meth:`AnalogNetwork.program` draws the
   programming noise and per-device drift exponents once; :meth:`AnalogNetwork.read_at` gives the
   conductances read at time t (drift + the 1/f read noise accumulated up to t, drawn once per read
   state as a weight perturbation, which is what makes reads at many times cheap).
4. **Crossbar**: column currents I = v . (G+ - G-) (A); with a behavioral crossbar model the two arrays
   of each tile go through its IR-drop/sneak-path model instead (``bind`` per read state, ``apply`` per MVM).
   Optional per-MVM output noise: Gaussian with std ``output_noise`` x the ADC full-scale current.
5. **ADC**: per tile, currents are scaled so that the calibrated full-scale current ``I_fs`` meets the ADC
   range, converted (ideal ``adc_bits`` mid-tread quantizer, or any ADC model object with ``convert`` /
   ``reconstruct``), and mapped back to amperes.
6. **Digital**: partial results of the row tiles are scaled back to weight units and summed, multiplied
   by the drift-compensation factor, and the bias is added.

Each non-ideality switches on and off on its own (:class:`AnalogConfig`), so losses can be attributed.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from devicelab.errors import ConfigError, RangeExcess, ValidityRangeWarning
from devicelab.inference.compensation import adapt_batchnorm
from devicelab.inference.mapping import SCALINGS, DifferentialConverter, Tiling, map_matrix
from devicelab.network.layers import WeightLayer
from devicelab.network.model import Network

if TYPE_CHECKING:
    from devicelab.inference.hardware import AnalogHardware, CrossbarModelLike

log = logging.getLogger(__name__)

#: Digital output calibrations (:attr:`AnalogConfig.calibration`).
CALIBRATIONS = ("none", "column-affine")

#: Switchable non-idealities, in signal-chain order.
NONIDEALITIES = ("programming_noise", "drift", "read_noise", "dac", "ir_drop", "output_noise", "adc")


@dataclass(frozen=True)
class AnalogConfig:
    """Analog tile settings and non-ideality switches.

    Attributes
    ----------
    tile_rows, tile_cols : int
        Array size of one tile (devices pairs per column / columns).
    g_max : float or None
        Conductance (S) the largest |weight| (per column or tile) maps to; None: the device model's g_max.
    scaling : str
        "column" or "tile" weight scaling (see :class:`~devicelab.inference.mapping.DifferentialConverter`).
    v_read : float
        Read voltage (V) of a full-scale input.
    dac_bits, adc_bits : int or None
        Resolution of the input DAC and of the ideal output ADC (an ADC model overrides adc_bits); None:
        exact (no quantization), as aihwkit's ideal IO.
    input_percentile : float
        Percentile of |x| on calibration data that sets each layer's input range (values above clip).
    adc_headroom : float
        ADC full-scale current = headroom x the largest |tile current| on calibration data at t = 0.
    output_noise : float
        Std of per-MVM additive output noise relative to the ADC full-scale current (0: none).
    calibration : str
        Digital output calibration: "none", or "column-affine" (a gain and an offset per output column,
        fitted after programming by least squares from ``calibration_vectors`` real layer inputs of the
        calibration images sent through the whole analog path: DAC, tiles, crossbar model, ADC, drift
        compensation), as IBM's PCM chips calibrate each ADC column.
    calibration_refresh : bool
        Refit the column-affine calibration at every read time (else once, right after programming).
    calibration_vectors : int
        Layer input vectors used by the column-affine fit.
    ir_programming_iterations : int
        IR-drop-aware programming (0: off): the conductance targets are pre-distorted with the crossbar model
        so that each tile's effective matrix (IR drop included) matches the mapped weights, by this many
        fixed-point iterations G <- clip(G + (W_target - W_eff(G)), 0, g_max) (the residual is logged and
        kept in :attr:`AnalogNetwork.ir_residuals`). Needs a linear crossbar model.
    programming_noise, drift, read_noise, dac, ir_drop, adc : bool
        Non-ideality switches (``ir_drop`` only acts when a crossbar model is given).
    """

    tile_rows: int = 256
    tile_cols: int = 256
    g_max: float | None = None
    scaling: str = "column"
    v_read: float = 0.2
    dac_bits: int | None = 8
    adc_bits: int | None = 8
    input_percentile: float = 99.99
    adc_headroom: float = 1.0
    output_noise: float = 0.0
    calibration: str = "none"
    calibration_refresh: bool = False
    calibration_vectors: int = 256
    ir_programming_iterations: int = 0
    programming_noise: bool = True
    drift: bool = True
    read_noise: bool = True
    dac: bool = True
    ir_drop: bool = True
    adc: bool = True

    def __post_init__(self):
        if self.calibration is None:  # "none" in hardware TOML files reads back as None
            object.__setattr__(self, "calibration", "none")
        checks = [
            (self.tile_rows >= 1 and self.tile_cols >= 1, "tile sizes must be >= 1"),
            (self.g_max is None or self.g_max > 0, f"g_max must be > 0 S or None, got {self.g_max}"),
            (self.scaling in SCALINGS, f"scaling must be one of {SCALINGS}, got {self.scaling!r}"),
            (self.v_read > 0, f"v_read must be > 0 V, got {self.v_read}"),
            ((self.dac_bits is None or 1 <= self.dac_bits <= 24)
             and (self.adc_bits is None or 2 <= self.adc_bits <= 24),
             f"dac_bits must be in 1..24 or None, adc_bits in 2..24 or None, got {self.dac_bits}, {self.adc_bits}"),
            (0 < self.input_percentile <= 100, "input_percentile must be in (0, 100]"),
            (self.adc_headroom > 0, "adc_headroom must be > 0"),
            (self.output_noise >= 0, "output_noise must be >= 0"),
            (self.calibration in CALIBRATIONS, f"calibration must be one of {CALIBRATIONS}, got {self.calibration!r}"),
            (isinstance(self.calibration_vectors, int) and self.calibration_vectors >= 2,
             f"calibration_vectors must be an integer >= 2, got {self.calibration_vectors!r}"),
            (isinstance(self.ir_programming_iterations, int) and 0 <= self.ir_programming_iterations <= 100,
             f"ir_programming_iterations must be an integer in 0..100, got {self.ir_programming_iterations!r}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"AnalogConfig: {message}")

    def enabled(self, name: str) -> bool:
        """Whether non-ideality ``name`` (one of :data:`NONIDEALITIES`) is on."""
        if name == "output_noise":
            return self.output_noise > 0
        if name == "dac":
            return self.dac and self.dac_bits is not None
        return bool(getattr(self, name))

    def ideal(self) -> "AnalogConfig":
        """The same settings with every non-ideality off (exact float results up to rounding)."""
        return dataclasses.replace(self, output_noise=0.0, **{n: False for n in NONIDEALITIES if n != "output_noise"})

    def only(self, name: str, output_noise: float | None = None) -> "AnalogConfig":
        """Every non-ideality off except ``name`` (output_noise keeps its value, or the one given)."""
        if name not in NONIDEALITIES:
            raise ConfigError(f"unknown non-ideality {name!r}; expected one of {NONIDEALITIES}")
        base = self.ideal()
        if name == "output_noise":
            return dataclasses.replace(base, output_noise=self.output_noise if output_noise is None else output_noise)
        return dataclasses.replace(base, **{name: True})


def adc_zero_and_half_range(adc) -> tuple[float, float]:
    """Where 0 A sits on an ADC's input range and the half range used for signed currents, both in V.

    A 2^b-code ADC has no code centred on its mid-range: mid-range is the transition between codes
    2^(b-1) - 1 and 2^(b-1), so a zero current placed there would come back as +-LSB/2 and flip between the two
    on the slightest offset or noise (a bias of up to one LSB on every column of every row tile). Zero is placed
    instead at the centre of code 2^(b-1) (two's-complement style, as a signed integrating readout does), so
    an ideal ADC returns 0 A exactly; the signed range is then +-(2^(b-1) - 1/2) LSB.
    """
    lsb = (adc.v_max - adc.v_min) / 2**adc.bits
    return adc.v_min + (2 ** (adc.bits - 1) + 0.5) * lsb, (2 ** (adc.bits - 1) - 0.5) * lsb


def spawn(rng: np.random.Generator, n: int) -> list[np.random.Generator]:
    """``n`` independent child generators of ``rng`` (:meth:`numpy.random.Generator.spawn`; generators made
    without a seed sequence fall back to seeds drawn from ``rng``)."""
    try:
        return rng.spawn(n)
    except TypeError:
        return [np.random.default_rng(s) for s in rng.integers(0, 2**63, size=n)]


def bind_tiles(crossbar_model: "CrossbarModelLike", tiling: Tiling, g_plus: np.ndarray, g_minus: np.ndarray,
               layer_name: str = ""):
    """Bind a behavioral crossbar model to every tile of a layer with conductances ``g_plus``/``g_minus`` (S).

    ``g_plus``/``g_minus`` are (rows, cols), or (N, rows, cols) per device slot of a multi-device unit cell
    (:class:`~devicelab.inference.mapping.UnitCell`; the model must be bound for that layout, see
    :meth:`~devicelab.inference.hardware.AnalogHardware.tile_crossbar`).
    Differential circuits bind one (2, rows, cols) (or (2, N, rows, cols)) pair per tile, others G+ and G-
    separately. Returns
    (tiles, a_eff): ``tiles[r]`` lists (bound_plus, bound_minus or None, column slice) of row block r;
    ``a_eff`` (rows, cols) float32 in S is the folded transfer matrix when every bound state is linear
    (its ``transfer`` is not None), else None. Validity warnings of the binds become one stable
    :class:`ValidityRangeWarning` per layer.
    """
    differential = bool(crossbar_model.differential)
    if np.ndim(g_plus) == 3 and np.shape(g_plus)[0] == 1:  # a single device per polarity: plain arrays
        g_plus, g_minus = g_plus[0], g_minus[0]
    tiles = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ValidityRangeWarning)
        for rows in tiling.row_blocks:
            row_tiles = []
            for cols in tiling.col_blocks:
                plus, minus = g_plus[..., rows, cols], g_minus[..., rows, cols]
                if differential:
                    row_tiles.append((crossbar_model.bind(np.stack([plus, minus])), None, cols))
                else:
                    row_tiles.append((crossbar_model.bind(plus), crossbar_model.bind(minus), cols))
            tiles.append(row_tiles)
    for w in caught:
        if not issubclass(w.category, ValidityRangeWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    outside = [w.message for w in caught if issubclass(w.category, ValidityRangeWarning)]
    if outside:
        n_tiles = len(tiling.row_blocks) * len(tiling.col_blocks) * (1 if differential else 2)
        excess, notes = merge_validity(outside)
        warnings.warn(layer_validity_warning(layer_name, excess, notes, f"{len(outside)} of {n_tiles} tile binds"),
                      stacklevel=2)
    if any(b.transfer is None for row in tiles for bound in row for b in bound[:2] if b is not None):
        return tiles, None
    a_eff = np.empty((tiling.rows, tiling.cols), dtype=np.float32)
    for rows, row_tiles in zip(tiling.row_blocks, tiles):
        for plus, minus, cols in row_tiles:
            a_eff[rows, cols] = plus.transfer if minus is None else plus.transfer - minus.transfer
    return tiles, a_eff


def merge_validity(warnings_seen) -> tuple[list, list[str]]:
    """Merge the :class:`ValidityRangeWarning` instances ``warnings_seen``: one
    :class:`~devicelab.errors.RangeExcess` per quantity (widest span) and the distinct notes; a warning
    without structured content contributes its text as a note."""
    excess: dict[str, RangeExcess] = {}
    notes: list[str] = []
    for w in warnings_seen:
        for e in getattr(w, "excess", ()):
            excess[e.quantity] = excess[e.quantity].merged(e) if e.quantity in excess else e
        extra = list(getattr(w, "notes", ())) or ([] if getattr(w, "excess", ()) else [str(w)])
        notes.extend(n for n in extra if n not in notes)
    return list(excess.values()), notes


def layer_validity_warning(layer_name: str, excess: list, notes: list[str], where: str) -> ValidityRangeWarning:
    """The one warning of a layer run outside its crossbar model's range: what is outside and by how much."""
    details = "; ".join([e.describe() for e in excess] + notes)
    return ValidityRangeWarning(f"crossbar model used outside its validity range on layer {layer_name!r} "
                                f"({where}): {details}; its stated error does not apply there (rebuild the model "
                                "from a sweep covering these values)", excess=tuple(excess), notes=tuple(notes))


def predistort(crossbar_model: "CrossbarModelLike", tiling: Tiling, g_plus: np.ndarray, g_minus: np.ndarray,
               g_max: float, iterations: int, layer_name: str = "") -> tuple[np.ndarray, np.ndarray, tuple]:
    """IR-drop-aware programming targets: conductances (S) whose effective matrix through the crossbar model
    matches the mapped ``g_plus - g_minus``.

    Fixed-point iteration on the effective difference matrix D(G) = transfer(G+) - transfer(G-): with the
    error E = D_target - D(G), the device of each pair that carries the weight (G+ where the target is >= 0,
    else G-) moves by +-E, and every conductance is clipped to [0, ``g_max``] (IR drop attenuates, so the
    pre-distorted targets grow, and cells already at g_max cannot follow). Returns (g_plus, g_minus,
    (residual before, residual after)) with residual = rms(E) / rms(D_target) over the layer.
    """
    target = (g_plus - g_minus).astype(np.float64)
    scale = float(np.sqrt(np.mean(target**2))) or 1.0
    positive = target >= 0
    g_plus, g_minus = g_plus.astype(np.float64), g_minus.astype(np.float64)
    residuals = []
    for k in range(iterations + 1):
        _, a_eff = bind_tiles(crossbar_model, tiling, g_plus, g_minus, layer_name)
        if a_eff is None:
            raise ConfigError("IR-drop-aware programming needs a linear crossbar model (its bound tiles must have "
                              "a transfer matrix); this one is nonlinear")
        error = target - a_eff
        residuals.append(float(np.sqrt(np.mean(error**2))) / scale)
        if k == iterations:
            break
        g_plus = np.clip(np.where(positive, g_plus + error, g_plus), 0.0, g_max)
        g_minus = np.clip(np.where(positive, g_minus, g_minus - error), 0.0, g_max)
    return g_plus, g_minus, (residuals[0], residuals[-1])


def bound_currents(tiles, r: int, v: np.ndarray, cols: int) -> np.ndarray:
    """Column currents (A) of row block ``r`` of bound ``tiles`` (from :func:`bind_tiles`) for voltages
    ``v`` (batch, rows of the block) in V."""
    out = np.empty((v.shape[0], cols), dtype=np.float32)
    for bound_plus, bound_minus, col_slice in tiles[r]:
        out[:, col_slice] = bound_plus.apply(v)
        if bound_minus is not None:
            out[:, col_slice] -= bound_minus.apply(v)
    return out


class _ProgrammedLayer:
    """Programmed state of one weight layer: target mapping (stored-conductance targets (rows, cols) S),
    programmed conductances and drift exponents of every device, (N, rows, cols) per polarity."""

    def __init__(self, layer, tiling, g_plus, g_minus, scale, alpha, i_fs):
        self.layer = layer
        self.tiling = tiling
        self.g_plus_target, self.g_minus_target = g_plus, g_minus
        self.scale = scale  # (n_row_blocks, cols) weight units per S
        self.alpha = np.float32(alpha)  # input range (weight-layer input units)
        self.i_fs = i_fs  # (n_row_blocks, cols) ADC full-scale current, A
        self.g_plus = self.g_minus = self.nu_plus = self.nu_minus = None
        self.reference = None  # drift-compensation readout right after programming
        self.calibration_scale = float(alpha)  # input scale of the compensation vectors
        self.affine_x = self.affine_ideal = None  # column-affine calibration inputs and their ideal outputs
        self.affine = None  # (gain, offset) per column fitted right after programming


class AnalogNetwork:
    """A network whose weight layers are mapped onto analog tiles and programmed once.

    Parameters
    ----------
    network : Network
        The trained float network.
    hardware : AnalogHardware
        Device model, tile settings, crossbar and ADC models and drift compensation
        (:class:`~devicelab.inference.hardware.AnalogHardware`).
    calibration_x : ndarray (N, C, H, W)
        Calibration images (from the training split) that set input ranges and ADC full scales.
    rng : numpy.random.Generator
        Draws programming noise and drift exponents (and the reference compensation read).
    """

    def __init__(self, network: Network, hardware: "AnalogHardware", calibration_x: np.ndarray,
                 rng: np.random.Generator):
        self.network = network
        self.hardware = hardware
        self.config = hardware.tile
        self.converter = DifferentialConverter(hardware.g_max, hardware.tile.scaling)
        self.cell = hardware.cell
        #: The crossbar model bound for the unit cell's layout (None: ideal V.G tiles).
        self.crossbar = hardware.tile_crossbar() if hardware.ir_drop else None
        self.calibration_x = np.asarray(calibration_x, dtype=np.float32)
        self.layers: dict[str, _ProgrammedLayer] = {}
        #: IR-drop-aware programming: layer -> (relative rms residual before, after pre-distortion).
        self.ir_residuals: dict[str, tuple[float, float]] = {}
        if self.config.ir_programming_iterations > 0 and self.cell.n > 1:
            raise ConfigError("IR-drop-aware programming (--ir-programming) supports one device per polarity; "
                              f"this unit cell has {self.cell.n}")
        self._map_and_calibrate()
        self.program(rng)

    # ------------------------------------------------------------------ mapping and calibration
    def _map_and_calibrate(self):
        cfg = self.config

        def recorder(layer: WeightLayer, x2d: np.ndarray) -> np.ndarray:
            rows, cols = layer.matrix.shape
            tiling = Tiling(rows, cols, cfg.tile_rows, cfg.tile_cols)
            g_plus, g_minus, scale = map_matrix(layer.matrix, tiling, self.converter)
            if self.hardware.ir_drop and cfg.ir_programming_iterations > 0:
                g_plus, g_minus, residuals = predistort(self.hardware.crossbar, tiling, g_plus, g_minus,
                                                        self.converter.g_max, cfg.ir_programming_iterations,
                                                        layer.name)
                self.ir_residuals[layer.name] = residuals
                log.info("IR-drop-aware programming, layer %s: relative rms error of the effective matrix "
                         "%.4f -> %.4f", layer.name, *residuals)
            alpha = float(np.percentile(np.abs(x2d), cfg.input_percentile)) or 1.0
            x_n = np.clip(x2d / np.float32(alpha), -1, 1)
            # Full scales from the currents the tiles really deliver: through the crossbar model if there
            # is one (IR drop lowers them), else ideal V.G.
            tiles, a_eff = None, (g_plus - g_minus).astype(np.float32)
            if self.crossbar is not None:
                slots = (self.cell.n,) + g_plus.shape
                tiles, a_eff = bind_tiles(self.crossbar, tiling, np.broadcast_to(g_plus, slots),
                                          np.broadcast_to(g_minus, slots), layer.name)
            i_fs_tiles = np.empty((len(tiling.row_blocks), len(tiling.col_blocks)))
            for r, rows_r in enumerate(tiling.row_blocks):
                v = x_n[:, rows_r] * np.float32(cfg.v_read)
                currents = np.abs(v @ a_eff[rows_r] if a_eff is not None else bound_currents(tiles, r, v, cols))
                for c, cols_c in enumerate(tiling.col_blocks):
                    peak = float(currents[:, cols_c].max()) if currents.size else 0.0
                    i_fs_tiles[r, c] = cfg.adc_headroom * (peak if peak > 0 else cfg.v_read * self.converter.g_max)
            pl = _ProgrammedLayer(layer, tiling, g_plus, g_minus, scale, alpha, tiling.per_tile_to_columns(i_fs_tiles))
            if cfg.calibration == "column-affine":
                # evenly spread rows of the real calibration inputs of this layer (deterministic)
                pick = np.unique(np.linspace(0, len(x2d) - 1, min(cfg.calibration_vectors, len(x2d))).astype(int))
                pl.affine_x = np.ascontiguousarray(x2d[pick], dtype=np.float32)
                pl.affine_ideal = pl.affine_x @ layer.matrix
            self.layers[layer.name] = pl
            return x2d @ layer.matrix

        self.network.forward(self.calibration_x, recorder)

    def program(self, rng: np.random.Generator) -> None:
        """(Re)program every device: draw programming noise and drift exponents, take compensation references.

        Each of the N devices per polarity of the unit cell is programmed on its own (its programming scheme
        sets the targets, see :meth:`~devicelab.inference.mapping.UnitCell.program`) and drifts with its own
        exponent."""
        model, cfg, cell = self.hardware.require_device(), self.config, self.cell
        # Separate streams: switching one non-ideality off does not shift the draws of the others.
        program_rng, nu_rng, reference_rng = spawn(rng, 3)

        def program_fn(g):
            return model.program(g, program_rng) if cfg.programming_noise else g

        for pl in self.layers.values():
            targets = (pl.g_plus_target, pl.g_minus_target)
            progs = [cell.program(g, program_fn, self.converter.g_max) for g in targets]
            slots = (cell.n,) + pl.g_plus_target.shape
            nus = [model.drift_exponents(np.broadcast_to(g, slots), nu_rng) if cfg.drift else np.zeros(slots)
                   for g in targets]
            pl.g_plus, pl.g_minus = progs
            pl.nu_plus, pl.nu_minus = nus
        for pl in self.layers.values():
            pl.affine = None
        compensation = self.hardware.compensation
        if compensation.measures:  # (none and BatchNorm-based compensations measure nothing)
            for pl in self.layers.values():
                pl.calibration_scale = self._calibration_scale(pl)
            reference_state = AnalogState(self, 0.0, reference_rng, compensate=False)
            for pl in self.layers.values():
                pl.reference = compensation.readout(reference_state.calibration_read_fn(pl), pl.tiling.rows)
        if cfg.calibration == "column-affine":
            # after programming: a read right away, drift compensation applied, calibration not yet
            state = AnalogState(self, 0.0, reference_rng, calibrate=False)
            for pl in self.layers.values():
                pl.affine = state.fit_affine(pl)

    def _calibration_scale(self, pl: _ProgrammedLayer) -> float:
        """Input scale (layer input units) of the +-1 compensation vectors: the DAC full scale, reduced so
        that their currents stay within half the ADC full scale at t = 0 (a saturated reference readout
        would under-compensate drift)."""
        u = self.hardware.compensation.calibration_inputs(pl.tiling.rows)
        g = (pl.g_plus_target - pl.g_minus_target) * self.config.v_read
        ratio = np.inf
        for r, rows in enumerate(pl.tiling.row_blocks):
            peak = np.abs(u[:, rows] @ g[rows]).max(axis=0)
            ratio = min(ratio, float(np.min(np.where(peak > 0, 0.5 * pl.i_fs[r] / np.maximum(peak, 1e-30), np.inf))))
        return float(pl.alpha) * min(1.0, ratio)

    # ------------------------------------------------------------------ reading
    def read_at(self, t: float, rng: np.random.Generator, temperature: float | None = None) -> "AnalogState":
        """Read state at ``t`` seconds after programming (t = 0: right after programming), with drift
        compensation factors measured at that time. ``temperature`` (K) accelerates drift if the model has
        an activation energy."""
        if not np.isfinite(t) or t < 0:
            raise ConfigError(f"read time must be a finite number >= 0 s, got {t}")
        return AnalogState(self, float(t), rng, temperature=temperature)


class AnalogState:
    """Conductances of an :class:`AnalogNetwork` read at one time; runs the network on them.

    The state itself is the ``mvm`` of :meth:`Network.forward` (call plus ``encode_input``); the read noise
    and the per-MVM randomness (output noise, ADC noise) come from two streams spawned from the generator
    given at construction.
    """

    def __init__(self, analog: AnalogNetwork, t: float, rng: np.random.Generator, temperature=None,
                 compensate: bool = True, calibrate: bool = True):
        self.analog = analog
        self.t = t
        read_rng, self.rng = spawn(rng, 2)
        cfg, model = analog.config, analog.hardware.require_device()
        self._g_eff: dict[str, np.ndarray] = {}
        self._bound: dict[str, list] = {}
        self.factors: dict[str, np.ndarray] = {}
        #: Column-affine calibration (gain, offset) per layer, applied to compensated outputs (None: off).
        self.affine: dict[str, tuple | None] = {}
        use_crossbar = analog.crossbar is not None
        compensation = analog.hardware.compensation
        for name, pl in analog.layers.items():
            if cfg.read_noise:
                g_plus = model.read(pl.g_plus, pl.nu_plus, t, read_rng, temperature)
                g_minus = model.read(pl.g_minus, pl.nu_minus, t, read_rng, temperature)
            else:
                g_plus = model.drift(pl.g_plus, pl.nu_plus, t, temperature)
                g_minus = model.drift(pl.g_minus, pl.nu_minus, t, temperature)
            if use_crossbar:
                self._bind_crossbars(name, pl, g_plus, g_minus)
            else:
                # x_q (DAC level units) @ g_eff gives amperes: fold v_read / levels into the conductances;
                # every device slot of the unit cell is read, the cell stores their weighted average.
                g_stored = analog.cell.combine(g_plus) - analog.cell.combine(g_minus)
                self._g_eff[name] = (g_stored * (cfg.v_read / self._levels)).astype(np.float32)
        for name, pl in analog.layers.items():
            if compensate:
                readout = compensation.readout(self.calibration_read_fn(pl), pl.tiling.rows)
                self.factors[name] = compensation.factor(pl.reference, readout)
            else:
                self.factors[name] = np.float32(1.0)
            self.affine[name] = None
        if calibrate and compensate and cfg.calibration == "column-affine":
            for name, pl in analog.layers.items():
                self.affine[name] = self.fit_affine(pl) if cfg.calibration_refresh else pl.affine
        #: The network run at this read (a copy with re-estimated BatchNorm statistics under BN compensation).
        self.network = analog.network
        if compensate and compensation.adapts_batchnorm:
            self.network = adapt_batchnorm(analog.network, analog.calibration_x, self)

    def fit_affine(self, pl: _ProgrammedLayer) -> tuple[np.ndarray, np.ndarray]:
        """Least-squares (gain, offset) per output column mapping this read's compensated layer outputs for
        the calibration inputs onto their ideal values (x @ W): ideal ~= gain * analog + offset."""
        analog = self.layer_output(pl, pl.affine_x, calibrated=False).astype(np.float64)
        ideal = pl.affine_ideal.astype(np.float64)
        a_mean, i_mean = analog.mean(axis=0), ideal.mean(axis=0)
        da = analog - a_mean
        var = (da * da).mean(axis=0)
        cov = (da * (ideal - i_mean)).mean(axis=0)
        gain = np.where(var > 0, cov / np.where(var > 0, var, 1.0), 1.0)
        offset = i_mean - gain * a_mean
        return gain.astype(np.float32), offset.astype(np.float32)

    def calibration_read_fn(self, pl: _ProgrammedLayer):
        """read_fn of the compensation objects: +-1 calibration inputs (fractions of the calibration scale)
        -> uncompensated layer outputs."""
        scale = np.float32(pl.calibration_scale)
        return lambda u: self.layer_output(pl, u * scale, compensated=False)

    def _bind_crossbars(self, name, pl, g_plus, g_minus):
        """Bind the crossbar model to every tile of layer ``name`` (see :func:`bind_tiles`)."""
        tiles, a_eff = bind_tiles(self.analog.crossbar, pl.tiling, g_plus, g_minus, name)
        if a_eff is None:
            self._bound[name] = tiles
        else:
            self._g_eff[name] = a_eff * np.float32(self.analog.config.v_read / self._levels)

    # ------------------------------------------------------------------ one layer
    @property
    def _levels(self) -> np.float32:
        """DAC input levels per polarity (1 when the DAC is ideal)."""
        cfg = self.analog.config
        return np.float32(max(2 ** (cfg.dac_bits - 1) - 1, 1) if cfg.enabled("dac") else 1.0)

    def encode_input(self, layer: WeightLayer, x: np.ndarray) -> np.ndarray:
        """DAC: inputs of ``layer`` in DAC level units (x / alpha * levels, clipped and rounded when the
        DAC is on); elementwise, so layers apply it before im2col."""
        return self._dac(self.analog.layers[layer.name], x)

    def _dac(self, pl: _ProgrammedLayer, x: np.ndarray) -> np.ndarray:
        levels = self._levels
        x_q = np.asarray(x, dtype=np.float32) * (levels / pl.alpha)
        if self.analog.config.enabled("dac"):
            np.clip(x_q, -levels, levels, out=x_q)
            np.rint(x_q, out=x_q)
        return x_q

    def _convert(self, currents: np.ndarray, i_fs: np.ndarray) -> tuple[np.ndarray, np.ndarray | float]:
        """Output noise and ADC on tile currents (A, modified in place) with full scales ``i_fs`` (A per column).

        Returns (values, to_amperes): ``values * to_amperes`` are the converted currents in A. The ideal ADC
        stays in code units so its scale folds into the digital multiplier (one pass fewer).
        """
        cfg, adc_model = self.analog.config, self.analog.hardware.adc
        if cfg.adc and adc_model is None and cfg.adc_bits is not None:
            levels = np.float32(2 ** (cfg.adc_bits - 1) - 1)
            currents *= (levels / i_fs).astype(np.float32)
            if cfg.output_noise > 0:  # std output_noise x full scale = output_noise x levels codes
                noise = self.rng.standard_normal(currents.shape, dtype=np.float32)
                noise *= np.float32(cfg.output_noise * levels)
                currents += noise
            np.clip(currents, -levels, levels, out=currents)
            np.rint(currents, out=currents)
            return currents, i_fs / levels
        if cfg.output_noise > 0:
            noise = self.rng.standard_normal(currents.shape, dtype=np.float32)
            noise *= (cfg.output_noise * i_fs).astype(np.float32)
            currents += noise
        if not cfg.adc or adc_model is None:  # ADC off, or exact (adc_bits None)
            return currents, 1.0
        v_zero, v_half = adc_zero_and_half_range(adc_model)
        gain = (v_half / i_fs).astype(np.float32)
        currents *= gain
        currents += np.float32(v_zero)
        codes = adc_model.convert(currents, self.rng)
        volts = np.asarray(adc_model.reconstruct(codes), dtype=np.float32)
        volts -= np.float32(v_zero)
        return volts, 1.0 / gain

    def _tile_currents(self, pl, name, r, rows, x_q):
        """Column currents (A) of all tiles in row block ``r`` for normalized inputs ``x_q``."""
        if name in self._g_eff:
            return x_q[:, rows] @ self._g_eff[name][rows]
        v = x_q[:, rows] * np.float32(self.analog.config.v_read / self._levels)
        return bound_currents(self._bound[name], r, v, pl.tiling.cols)

    def layer_output(self, pl: _ProgrammedLayer, x2d: np.ndarray, compensated: bool = True,
                     encoded: bool = False, calibrated: bool = True) -> np.ndarray:
        """Analog product of layer inputs ``x2d`` (batch, rows) with the layer's weights, without bias
        (``encoded``: x2d is already in DAC level units, see :meth:`encode_input`). ``compensated``: drift
        compensation applied; ``calibrated``: the column-affine calibration too (only when compensated)."""
        cfg = self.analog.config
        name = pl.layer.name
        x_q = x2d if encoded else self._dac(pl, x2d)
        y = None
        for r, rows in enumerate(pl.tiling.row_blocks):
            currents, to_amperes = self._convert(self._tile_currents(pl, name, r, rows, x_q), pl.i_fs[r])
            digital = pl.scale[r] * (to_amperes * pl.alpha / cfg.v_read)
            if compensated:
                digital = digital * self.factors[name]
            currents *= digital.astype(np.float32)
            if y is None:
                y = currents
            else:
                y += currents
        affine = self.affine.get(name) if compensated and calibrated else None
        if affine is not None:
            y *= affine[0]
            y += affine[1]
        return y

    def effective_weights(self, layer_name: str) -> np.ndarray:
        """Weights (rows, cols) the tiles of ``layer_name`` hold at this read, drift compensation, the gain of a
        column-affine calibration and a linear crossbar model's IR drop included (the DAC, ADC, output noise
        and the calibration offset act on signals and are not)."""
        pl = self.analog.layers[layer_name]
        if layer_name not in self._g_eff:
            raise ConfigError("effective_weights is not defined for a nonlinear crossbar (IR drop) model")
        to_weights = np.empty_like(self._g_eff[layer_name])
        for r, rows in enumerate(pl.tiling.row_blocks):
            to_weights[rows] = pl.scale[r] * self._levels / self.analog.config.v_read
        gain = self.affine.get(layer_name)[0] if self.affine.get(layer_name) is not None else np.float32(1.0)
        return self._g_eff[layer_name] * to_weights * self.factors[layer_name] * gain

    def __call__(self, layer: WeightLayer, x2d: np.ndarray) -> np.ndarray:
        """The ``mvm`` callable for :meth:`Network.forward`: analog product of DAC-encoded ``x2d``."""
        return self.layer_output(self.analog.layers[layer.name], x2d, encoded=True)

    # ------------------------------------------------------------------ whole network
    def forward(self, x: np.ndarray) -> np.ndarray:
        """Logits for images ``x`` (N, C, H, W)."""
        return self.network.forward(x, self)

    def accuracy(self, x: np.ndarray, y: np.ndarray, batch_size: int = 500) -> float:
        """Fraction of ``x`` classified as ``y`` by the analog network."""
        return self.network.accuracy(x, y, self, batch_size)
