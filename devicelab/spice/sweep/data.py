"""Conductances (S) and input voltages (V) of one sweep point, drawn from its description.

All randomness comes from the ``rng`` arguments; :func:`point_arrays` seeds them from the point's
``seed_g`` / ``seed_v`` so a point is reproducible on any worker.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from devicelab.devices.modelfile import resolve_model
from devicelab.errors import ConfigError, InputFileError
from devicelab.files import load_numpy
from devicelab.spice.sweep.config import ConductanceSpec, InputSpec, SweepPoint

#: z-score of the 99th percentile of a standard normal: the DNN-like tail is scaled so that its
#: 99th percentile sits at v_read (1 % of nonzero activations saturate the DAC).
_Z99 = 2.3263478740408408


def point_arrays(point: SweepPoint) -> tuple[np.ndarray, np.ndarray]:
    """(g, v) of a point: conductances in S, shape (rows, cols) or (2, rows, cols) when differential
    (G+, G-) (with N > 1 devices per polarity (N, rows, cols) or (2, N, rows, cols)), and input voltages
    (n_vectors, rows) in V, drawn with generators seeded by the point's seeds."""
    rng_g = np.random.default_rng(point.seed_g)
    n = point.devices_per_polarity
    g = sample_conductances(point.conductance, point.rows, point.cols, point.differential, rng_g)
    if n > 1 and point.conductance.kind != "weights":  # more devices per polarity: independent draws
        slots = [g] + [sample_conductances(point.conductance, point.rows, point.cols, point.differential, rng_g)
                       for _ in range(n - 1)]
        g = np.stack(slots, axis=-3)  # (2, N, rows, cols) or (N, rows, cols)
    elif n > 1:  # weights: every device of a cell stores the same weight, each programmed on its own
        targets = sample_conductances(dataclasses.replace(point.conductance, model=None), point.rows, point.cols,
                                      point.differential, np.random.default_rng(point.seed_g))
        slots = [g] + [resolve_model(point.conductance.model).program(targets, rng_g)
                       if point.conductance.model is not None else targets for _ in range(n - 1)]
        g = np.stack(slots, axis=-3)
    v = sample_inputs(point.inputs, point.rows, point.n_vectors, np.random.default_rng(point.seed_v))
    return g, v


def sample_conductances(spec: ConductanceSpec, rows: int, cols: int, differential: bool,
                        rng: np.random.Generator) -> np.ndarray:
    """Conductances (S), shape (rows, cols), or (2, rows, cols) = (G+, G-) when ``differential``.

    ``uniform``: i.i.d. uniform in [g_min, g_max]. ``device_model``: targets uniform in [g_min, g_max],
    programmed with the model (programming noise, clipped to [0, model g_clip]). ``weights``: see
    :func:`weight_conductances`. The two arrays of a differential pair are drawn independently except
    for ``weights``, where they encode the sign of each weight.
    """
    shape = (2 if differential else 1, rows, cols)
    if spec.kind == "weights":
        w = weight_tile(spec, rows, cols, rng)
        targets = weight_conductances(w, spec.g_min, spec.g_max, differential)
    else:
        targets = rng.uniform(spec.g_min, spec.g_max, size=shape)
    if spec.kind == "device_model" or spec.model is not None:
        if spec.model is None:
            raise ConfigError(f"conductances '{spec.name}': kind 'device_model' needs a model "
                              "(preset name or model file)")
        targets = resolve_model(spec.model).program(targets, rng)
    return targets if differential else targets[0]


def weight_conductances(w: np.ndarray, g_min: float, g_max: float, differential: bool) -> np.ndarray:
    """Map a weight tile (rows, cols) to target conductances (S), shape (2 or 1, rows, cols).

    Weights are scaled by w_max = max|w| of the tile (0 maps to g_min). Differential: G+ = g_min +
    (g_max - g_min) max(w, 0)/w_max and G- likewise for -w. Single-ended: the offset mapping
    G = g_min + (g_max - g_min) (w + w_max) / (2 w_max), so zero weight sits mid-range.
    """
    w = np.asarray(w, dtype=float)
    w_max = float(np.max(np.abs(w))) if w.size else 0.0
    scale = (g_max - g_min) / w_max if w_max > 0 else 0.0
    if differential:
        return np.stack([g_min + scale * np.maximum(w, 0.0), g_min + scale * np.maximum(-w, 0.0)])
    return (g_min + scale * (w + w_max) / 2.0)[None]


def weight_tile(spec: ConductanceSpec, rows: int, cols: int, rng: np.random.Generator) -> np.ndarray:
    """A (rows, cols) tile of one of the weight matrices of ``spec.file``, oriented (in, out).

    A matrix large enough is picked uniformly among the selected ones and the tile's corner uniformly
    among the positions that fit. When no matrix is large enough, the largest is placed at the corner
    and the rest of the tile is zero (unused devices at g_min).
    """
    if spec.file is None:
        raise ConfigError(f"conductances '{spec.name}': kind 'weights' needs a file (.npy or .npz)")
    mats = load_weight_matrices(spec.file, spec.arrays, spec.layout)
    fitting = [m for m in mats if m.shape[0] >= rows and m.shape[1] >= cols]
    if fitting:
        m = fitting[rng.integers(len(fitting))]
        i0 = rng.integers(m.shape[0] - rows + 1)
        j0 = rng.integers(m.shape[1] - cols + 1)
        return m[i0:i0 + rows, j0:j0 + cols].copy()
    m = max(mats, key=lambda a: a.size)
    tile = np.zeros((rows, cols))
    r, c = min(rows, m.shape[0]), min(cols, m.shape[1])
    tile[:r, :c] = m[:r, :c]
    return tile


def load_weight_matrices(file: str, arrays: tuple[str, ...] = (), layout: str = "out_in") -> list[np.ndarray]:
    """The 2-D float weight matrices of a .npy/.npz file, oriented (in, out) (rows = inputs).

    ``arrays`` selects arrays of an .npz by name (default: every numeric array of 2 or more dimensions;
    1-D biases and text entries are skipped, so a ``devicelab pretrain`` .npz works as is); ``layout``
    "out_in" means the stored matrices are (out, in) as in PyTorch and are transposed; with it, arrays of
    more dimensions (convolution kernels (out, in, kh, kw)) are first flattened to (out, in kh kw), as
    they are unrolled onto a crossbar. Never unpickles.
    """
    path = Path(file)
    loaded = load_numpy(path, "weights", archive_ok=True)
    try:
        if isinstance(loaded, np.ndarray):
            named = {path.stem: loaded}
        else:
            with loaded:
                named = {k: loaded[k] for k in loaded.files}
    except (OSError, ValueError, EOFError) as exc:
        raise InputFileError(path, f"cannot read weights ({exc})") from exc
    for name in arrays:
        if name not in named:
            raise InputFileError(path, f"no array {name!r} (found: {', '.join(sorted(named))})", field=name)
    selected = {k: named[k] for k in (arrays or sorted(named))}
    mats = []
    for name, a in selected.items():
        if a.ndim > 2 and layout == "out_in":
            a = a.reshape(a.shape[0], -1)  # convolution kernel (out, in, kh, kw) as mapped to a crossbar
        if a.ndim != 2 or not np.issubdtype(a.dtype, np.number):
            if arrays:
                raise InputFileError(path, f"expected a 2-D numeric weight matrix, got shape {a.shape} "
                                           f"dtype {a.dtype}", field=name)
            continue
        a = np.asarray(a, dtype=float)
        if not np.all(np.isfinite(a)):
            raise InputFileError(path, "weights must be finite", field=name)
        mats.append(a.T if layout == "out_in" else a)
    if not mats:
        raise InputFileError(path, "no 2-D numeric weight matrix found")
    return mats


def sample_inputs(spec: InputSpec, rows: int, n_vectors: int, rng: np.random.Generator) -> np.ndarray:
    """Input voltages (V), shape (n_vectors, rows), one vector per row.

    ``dense``: uniform in [0, v_read] (``signed``: [-v_read, v_read]). ``sparse``: each entry nonzero with
    probability ``density``, nonzero entries like dense. ``dnn``: ReLU-like activations, zero with
    probability ``zero_fraction``, else v_read * exp(sigma (Z - z99)) clipped at v_read with Z standard
    normal (a log-normal tail whose 99th percentile is v_read). ``onehot``: vector k drives row k mod rows
    at v_read, all others at 0 V.
    """
    shape = (n_vectors, rows)
    if spec.kind == "onehot":
        v = np.zeros(shape)
        v[np.arange(n_vectors), np.arange(n_vectors) % rows] = spec.v_read
        return v
    if spec.kind == "dnn":
        nonzero = rng.random(shape) >= spec.zero_fraction
        tail = spec.v_read * np.exp(spec.tail_sigma * (rng.standard_normal(shape) - _Z99))
        return np.where(nonzero, np.minimum(tail, spec.v_read), 0.0)
    low = -spec.v_read if spec.signed else 0.0
    v = rng.uniform(low, spec.v_read, size=shape)
    if spec.kind == "sparse":
        v = np.where(rng.random(shape) < spec.density, v, 0.0)
    return v
