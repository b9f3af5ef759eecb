"""Training experiments: an MLP trained in memory with a pulse-update device model, next to a float baseline.

:func:`train_mlp` runs one scheme (``float``, ``sgd``, ``mixed-precision``); :func:`compare_schemes` runs
several from the same initial weights and the same data order and returns one :class:`TrainingResult` per
scheme. Every run is a plain numpy loop over mini-batches (float32), with forward and backward MVMs through
the analog tiles of :mod:`devicelab.training.synapses` for the analog schemes.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from devicelab.devices.update import UpdateModel
from devicelab.errors import ConfigError
from devicelab.training.synapses import (
    SCHEMES,
    PulsedSynapses,
    SynapseConfig,
    TileIO,
    analog_mvm,
    mixed_precision_pulses,
    sgd_pulses,
)

ALL_SCHEMES = ("float",) + SCHEMES


@dataclass(frozen=True)
class TrainConfig:
    """A training experiment (units: weights dimensionless; lr per mini-batch mean gradient).

    Attributes
    ----------
    epochs, batch_size : int
        Passes over the training set and samples per update.
    lr : float
        Learning rate.
    hidden : tuple of int
        Hidden layer widths of the MLP (ReLU); the output layer is softmax with cross-entropy.
    w_max_factor : float
        Full-scale weight of a layer (w_scale) in units of its Glorot-uniform limit sqrt(6 / (in + out)).
    train_limit : int or None
        Use only this many training samples (None: all).
    io : TileIO
        DAC/ADC/read-noise settings of the tiles.
    synapse : SynapseConfig
        Devices per synapse, refresh and pulse limits.
    """

    epochs: int = 5
    batch_size: int = 10
    lr: float = 0.1
    hidden: tuple[int, ...] = (100,)
    w_max_factor: float = 3.0
    train_limit: int | None = None
    io: TileIO = field(default_factory=TileIO)
    synapse: SynapseConfig = field(default_factory=SynapseConfig)

    def __post_init__(self):
        if not (self.epochs >= 1 and self.batch_size >= 1 and self.lr > 0 and self.w_max_factor > 0
                and all(h >= 1 for h in self.hidden)):
            raise ConfigError(f"TrainConfig: invalid values {self}")


@dataclass(frozen=True)
class TrainingResult:
    """Outcome of one training run: per-epoch test accuracy (fraction), pulses and refreshes, wall time (s)."""

    scheme: str
    test_accuracy: tuple[float, ...]
    train_loss: tuple[float, ...]
    pulses: int
    refreshes: int
    seconds: float
    epsilon: tuple[float, ...] = ()

    @property
    def final_accuracy(self) -> float:
        """Test accuracy after the last epoch (fraction)."""
        return self.test_accuracy[-1]

    def to_dict(self) -> dict:
        """JSON-friendly form."""
        return asdict(self)


class _MLP:
    """Weights of an MLP as (out, in + 1) matrices with the bias in the last column."""

    def __init__(self, sizes, w_max_factor, rng):
        self.sizes = sizes
        self.w_scale = [w_max_factor * np.sqrt(6.0 / (a + b)) for a, b in zip(sizes[:-1], sizes[1:])]
        self.init = []
        for (a, b) in zip(sizes[:-1], sizes[1:]):
            limit = np.sqrt(6.0 / (a + b))
            w = rng.uniform(-limit, limit, (b, a)).astype(np.float32)
            self.init.append(np.concatenate([w, np.zeros((b, 1), np.float32)], axis=1))


def _augment(a: np.ndarray) -> np.ndarray:
    return np.concatenate([a, np.ones((a.shape[0], 1), np.float32)], axis=1)


def _softmax_xent(z: np.ndarray, y: np.ndarray):
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.log(np.maximum(p[np.arange(y.size), y], 1e-12)).mean()
    p[np.arange(y.size), y] -= 1.0
    return float(loss), p / y.size


class _Learner:
    """Forward/backward through float weights or analog tiles, and the scheme's update rule."""

    def __init__(self, scheme, mlp: _MLP, model: UpdateModel | None, config: TrainConfig, rng):
        self.scheme, self.config = scheme, config
        self.io = config.io
        if scheme == "float":
            self.weights = [w.copy() for w in mlp.init]
            self.tiles = None
        else:
            if model is None:
                raise ConfigError(f"training scheme {scheme!r} needs an update model (only 'float' has none)")
            self.tiles = [PulsedSynapses(w.shape, model, s, config.synapse, rng) for w, s in zip(mlp.init, mlp.w_scale)]
            for tile, w in zip(self.tiles, mlp.init):
                tile.program(w, rng)
            self.chi = [np.zeros(w.shape, np.float32) for w in mlp.init]
        self.updates = 0

    def _matrices(self):
        if self.tiles is None:
            return [(w, None, 1.0) for w in self.weights]
        out = []
        for tile in self.tiles:
            w_norm, var = tile.normalized()
            out.append((w_norm, var if self.io.read_noise else None, tile.w_scale))
        return out

    def _mvm(self, x, w, var, scale, rng):
        if self.tiles is None:
            return x @ w.T
        return analog_mvm(x, w, self.io, rng, var) * np.float32(scale)

    def forward(self, x, rng, keep=False):
        mats = self._matrices()
        acts, pre = [x], []
        a = x
        for k, (w, var, scale) in enumerate(mats):
            z = self._mvm(_augment(a), w, var, scale, rng)
            pre.append(z)
            a = np.maximum(z, 0.0) if k < len(mats) - 1 else z
            acts.append(a)
        return (a, acts, pre, mats) if keep else a

    def step(self, x, y, rng) -> float:
        out, acts, pre, mats = self.forward(x, rng, keep=True)
        loss, delta = _softmax_xent(out, y)
        grads: dict[int, np.ndarray] = {}
        for k in range(len(mats) - 1, -1, -1):
            grads[k] = delta.T @ _augment(acts[k])
            if k > 0:
                w, var, scale = mats[k]
                back = self._mvm(delta, np.ascontiguousarray(w[:, :-1].T), var, scale, rng)
                delta = back * (pre[k - 1] > 0)
        self._update([-self.config.lr * grads[k] for k in range(len(mats))], rng)
        return loss

    def _update(self, dws, rng):
        self.updates += 1
        if self.tiles is None:
            for w, dw in zip(self.weights, dws):
                w += dw
            return
        cfg = self.config.synapse
        for k, (tile, dw) in enumerate(zip(self.tiles, dws)):
            if self.scheme == "mixed-precision":
                pulses, self.chi[k] = mixed_precision_pulses(self.chi[k], dw, tile.epsilon, cfg.max_pulses)
            else:
                pulses = sgd_pulses(dw, tile.epsilon, cfg.max_pulses)
            tile.apply(pulses, rng)
            if cfg.refresh_every and self.updates % cfg.refresh_every == 0:
                tile.refresh(rng)

    def accuracy(self, x, y, rng, batch=500) -> float:
        hits = 0
        for start in range(0, len(y), batch):
            out = self.forward(x[start:start + batch], rng)
            hits += int(np.sum(np.argmax(out, axis=1) == y[start:start + batch]))
        return hits / len(y)


def _flat(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(x, np.float32).reshape(len(x), -1))


def compare_schemes(train, test, schemes, model: UpdateModel | None, config: TrainConfig,
                    rng: np.random.Generator, progress: bool = False) -> dict[str, TrainingResult]:
    """Train the same MLP with each scheme in ``schemes`` from the same initial weights and data order.

    ``train``/``test``: objects with ``x`` (N, ...) float32 in [0, 1] and ``y`` (N,) int class labels (e.g.
    :class:`devicelab.network.data.DataSplit`). ``model`` is needed by the analog schemes. A tqdm progress bar
    (on stderr) is shown when ``progress`` is True. Returns scheme -> :class:`TrainingResult`.
    """
    unknown = [s for s in schemes if s not in ALL_SCHEMES]
    if unknown:
        raise ConfigError(f"unknown training schemes {unknown}; known: {', '.join(ALL_SCHEMES)}")
    if model is None and any(s != "float" for s in schemes):
        raise ConfigError("analog training schemes need a device update model")
    x_train, y_train = _flat(train.x), np.asarray(train.y, np.int64)
    if config.train_limit is not None:
        x_train, y_train = x_train[:config.train_limit], y_train[:config.train_limit]
    x_test, y_test = _flat(test.x), np.asarray(test.y, np.int64)
    n_classes = int(max(y_train.max(), y_test.max())) + 1
    sizes = (x_train.shape[1],) + tuple(config.hidden) + (n_classes,)
    mlp = _MLP(sizes, config.w_max_factor, rng)
    seeds = rng.integers(0, 2**63 - 1, size=3)
    results = {}
    # The products here are small (batch x layer); BLAS threads only add overhead, more so on a shared CPU.
    with threadpool_limits(limits=1, user_api="blas"):
        for scheme in schemes:
            results[scheme] = _train_one(scheme, mlp, model, config, seeds, (x_train, y_train, x_test, y_test),
                                         progress)
    return results


def _train_one(scheme, mlp, model, config, seeds, data, progress) -> TrainingResult:
    """One scheme from the shared initial weights; data order and device draws from fixed seeds."""
    x_train, y_train, x_test, y_test = data
    order_rng = np.random.default_rng(seeds[0])  # the same data order for every scheme
    device_rng = np.random.default_rng(seeds[1])
    learner = _Learner(scheme, mlp, model, config, device_rng)
    start = time.perf_counter()
    accuracies, losses = [], []
    n_batches = int(np.ceil(len(y_train) / config.batch_size))
    with tqdm(total=config.epochs * n_batches, desc=scheme, disable=not progress, leave=False) as bar:
        for _ in range(config.epochs):
            order = order_rng.permutation(len(y_train))
            epoch_loss = 0.0
            for b in range(n_batches):
                idx = order[b * config.batch_size:(b + 1) * config.batch_size]
                epoch_loss += learner.step(x_train[idx], y_train[idx], device_rng)
                bar.update(1)
            losses.append(epoch_loss / n_batches)
            accuracies.append(learner.accuracy(x_test, y_test, device_rng))
            bar.set_postfix(test_acc=f"{accuracies[-1]:.4f}")
    tiles = learner.tiles or []
    return TrainingResult(
        scheme=scheme, test_accuracy=tuple(accuracies), train_loss=tuple(losses),
        pulses=sum(t.pulses for t in tiles), refreshes=sum(t.refreshes for t in tiles),
        seconds=time.perf_counter() - start, epsilon=tuple(t.epsilon for t in tiles))


def plot_training(results: dict[str, TrainingResult], title: str = ""):
    """Test accuracy (%) per epoch of every scheme; returns a matplotlib Figure."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    for scheme, res in results.items():
        epochs = np.arange(1, len(res.test_accuracy) + 1)
        ax.plot(epochs, 100 * np.asarray(res.test_accuracy), marker="o",
                label=f"{scheme} ({100 * res.final_accuracy:.2f} %)", ls="--" if scheme == "float" else "-")
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig
