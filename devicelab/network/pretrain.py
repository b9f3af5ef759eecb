"""Training of the reference networks in PyTorch (optional ``torch`` extra): float and hardware-aware.

Hardware-aware training (HWA) follows Joshi et al. 2020 (Nat. Commun. 11, 2473): on every mini-batch,
Gaussian noise with standard deviation ``hwa_noise * max|W|`` (per layer) is added to the weights of every
Linear/Conv2d layer for the forward and backward pass; the gradient computed at the noisy weights updates
the clean ones. The network then learns a minimum that tolerates programming noise and drift.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np

from devicelab.errors import ConfigError, require
from devicelab.network.data import load_dataset
from devicelab.network.model import ARCHITECTURES, Network, build_network
from devicelab.network.torch_io import from_torch, to_torch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PretrainConfig:
    """Training recipe.

    Attributes
    ----------
    epochs : int
        Passes over the training split.
    batch_size : int
        Mini-batch size.
    lr : float
        Adam learning rate (cosine-annealed to 0 over the run).
    hwa_noise : float
        Relative weight-noise std (of max|W| per layer) injected in training; 0 = plain float training.
    weight_decay : float
        L2 penalty of Adam (AdamW style).
    train_limit : int or None
        Use only this many training samples (None: all).
    seed : int
        Seed of weight initialization, shuffling and noise.
    """

    epochs: int = 4
    batch_size: int = 128
    lr: float = 2e-3
    hwa_noise: float = 0.0
    weight_decay: float = 1e-4
    train_limit: int | None = None
    seed: int = 0

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ConfigError("PretrainConfig: epochs and batch_size must be >= 1 and lr > 0")
        if not 0 <= self.hwa_noise < 1:
            raise ConfigError(f"PretrainConfig: hwa_noise must be in [0, 1), got {self.hwa_noise}")


def _noisy_step(model, torch, hwa_noise, generator):
    """Add HWA weight noise in place; return the clean weights to restore after backward."""
    saved = []
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)):
                w = m.weight
                saved.append((w, w.detach().clone()))
                sigma = hwa_noise * w.abs().max()
                w.add_(torch.randn(w.shape, generator=generator) * sigma)
    return saved


def train(arch: str, dataset: str, config: PretrainConfig = PretrainConfig(), init: Network | None = None,
          progress: bool = False) -> Network:
    """Train ``arch`` (mlp|resnet) on ``dataset`` (digits|fashion-mnist) and return the trained Network.

    ``init`` starts from given weights (e.g. HWA fine-tuning of a float-trained network). The returned
    network's ``meta`` records the recipe and the float test accuracy.
    """
    torch = require("torch", "training networks", "torch")
    from tqdm.auto import tqdm

    if arch not in ARCHITECTURES:
        raise ConfigError(f"unknown architecture {arch!r}; expected one of {ARCHITECTURES}")
    train_split = load_dataset(dataset, "train").subset(config.train_limit, np.random.default_rng(config.seed))
    test_split = load_dataset(dataset, "test")
    input_shape = train_split.x.shape[1:]
    classes = len(train_split.classes)
    network = init or build_network(arch, input_shape, classes, np.random.default_rng(config.seed))
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed + 1)
    model = to_torch(network)
    x_all = torch.from_numpy(np.array(train_split.x))  # a writable copy (cached data sets are read-only)
    y_all = torch.from_numpy(np.array(train_split.y))
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps = config.epochs * int(np.ceil(len(train_split) / config.batch_size))
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    loss_fn = torch.nn.CrossEntropyLoss()
    bar = tqdm(total=steps, desc=f"train {arch} on {dataset}", disable=not progress, unit="batch")
    for epoch in range(config.epochs):
        model.train()
        order = torch.randperm(len(train_split), generator=generator)
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            idx = order[start:start + config.batch_size]
            saved = _noisy_step(model, torch, config.hwa_noise, generator) if config.hwa_noise > 0 else []
            loss = loss_fn(model(x_all[idx]), y_all[idx])
            optimizer.zero_grad()
            loss.backward()
            with torch.no_grad():
                for w, clean in saved:
                    w.copy_(clean)
            optimizer.step()
            scheduler.step()
            total += loss.item() * len(idx)
            bar.update(1)
        log.info("epoch %d: mean training loss %.4f", epoch + 1, total / len(train_split))
    bar.close()
    model.eval()
    trained = from_torch(model, input_shape, classes, name=f"{arch}-{dataset}")
    # Keep our layer names (from_torch names them by module path).
    trained = Network.from_spec(network.spec(), dict(zip(network.arrays(), trained.arrays().values())))
    accuracy = trained.accuracy(test_split.x, test_split.y)
    trained.meta.update({"architecture": arch, "dataset": dataset, "training": asdict(config),
                         "float_test_accuracy": accuracy, "fine_tuned_from_given_weights": init is not None})
    trained.name = f"{arch}-{dataset}-{'hwa' if config.hwa_noise > 0 else 'float'}"
    return trained
