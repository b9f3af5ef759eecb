"""Speed of in-memory training: analog schemes vs the float baseline, and single- vs multi-threaded BLAS.

Runs a 784-250-10 MLP (the Fashion-MNIST size) on random data for a fixed number of mini-batch updates and
prints the time per update of float, mixed-precision and pulsed-SGD training side by side, plus a raw float
loop with BLAS pinned to one thread (as the training loops do) and at its default thread count. Best of 3.

    python benchmarks/bench_training.py
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np

from devicelab.devices.update import nandakumar2018
from devicelab.training.run import TrainConfig, compare_schemes

N_UPDATES = 300
BATCH = 10


def _data(rng):
    x = rng.uniform(0, 1, (N_UPDATES * BATCH, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, N_UPDATES * BATCH)
    return SimpleNamespace(x=x, y=y), SimpleNamespace(x=x[:200], y=y[:200])


def per_update(scheme: str, repeats: int = 3) -> float:
    """Best-of-``repeats`` seconds per update of one scheme (test evaluation on 200 samples included)."""
    rng = np.random.default_rng(0)
    train, test = _data(rng)
    config = TrainConfig(epochs=1, batch_size=BATCH, hidden=(250,))
    best = np.inf
    for _ in range(repeats):
        result = compare_schemes(train, test, [scheme], nandakumar2018(), config, np.random.default_rng(1))
        best = min(best, result[scheme].seconds)
    return best / N_UPDATES


def raw_float_loop(pinned: bool, repeats: int = 3) -> float:
    """Seconds per update of plain float32 SGD steps, BLAS pinned to one thread or at its default count."""
    from contextlib import nullcontext

    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    w1 = rng.normal(0, 0.05, (250, 785)).astype(np.float32)
    w2 = rng.normal(0, 0.05, (10, 251)).astype(np.float32)
    x = np.concatenate([rng.uniform(0, 1, (BATCH, 784)), np.ones((BATCH, 1))], axis=1).astype(np.float32)
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        with threadpool_limits(limits=1, user_api="blas") if pinned else nullcontext():
            for _ in range(N_UPDATES):
                h = np.maximum(x @ w1.T, 0)
                h1 = np.concatenate([h, np.ones((BATCH, 1), np.float32)], axis=1)
                delta = (h1 @ w2.T) / BATCH
                back = (delta @ w2[:, :-1]) * (h > 0)
                w2 -= 0.1 * delta.T @ h1
                w1 -= 0.1 * back.T @ x
        best = min(best, (time.perf_counter() - start) / N_UPDATES)
    return best


def main() -> None:
    """Print the measured times per update and their ratios to the float baseline."""
    times = {s: per_update(s) for s in ("float", "mixed-precision", "sgd")}
    pinned, unpinned = raw_float_loop(True), raw_float_loop(False)
    print(f"784-250-10 MLP, batch {BATCH}, {N_UPDATES} updates, best of 3 (shared CPU: compare ratios)")
    for scheme, t in times.items():
        print(f"  {scheme:16s} {1e3 * t:8.2f} ms/update   x{t / times['float']:6.1f} vs float")
    print(f"  raw float loop: BLAS 1 thread {1e3 * pinned:.2f} ms/update, default threads "
          f"{1e3 * unpinned:.2f} ms/update (x{unpinned / pinned:.1f})")


if __name__ == "__main__":
    main()
