"""Binary- and ternary-weight networks with quantized activations, trained with the straight-through estimator.

Quantization (what the digital processing-in-memory engine computes with, :mod:`devicelab.inference.digital`):

- **weights** of every Linear/Conv2d layer, per output channel o with latent float weights w:
  binary: W = alpha_o sign(w), alpha_o = mean |w_o| (XNOR-Net, Rastegari et al., ECCV 2016);
  ternary: W = alpha_o sign(w) [|w| > Delta_o], Delta_o = 0.7 mean |w_o|, alpha_o = mean of |w| above Delta_o
  (ternary weight networks, Li & Liu, arXiv:1605.04711);
- **activations** entering every weight layer: unsigned ``act_bits``-bit codes
  a = round(clip(x, 0, c) / c (2^bits - 1)), with a learned clip c per layer (PACT, Choi et al., arXiv:1805.06085);
  the first layer's clip is fixed at 1 (pixels in [0, 1]);
- training: the forward pass uses the quantized values, the backward pass the straight-through estimator
  (identity gradient, zeroed for |w| > 1 and outside the clip range; Bengio et al., arXiv:1308.3432).

The trained network is an ordinary :class:`~devicelab.network.Network` whose weights are the quantized values
(alpha_o times -1/0/+1); ``meta`` records ``weights`` ("binary"|"ternary"), ``act_bits`` and ``act_clip``
(per weight layer). :func:`quantize_activations` is the one definition of the activation codes.
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
WEIGHT_KINDS = ("binary", "ternary")
TERNARY_THRESHOLD = 0.7


def quantize_activations(x: np.ndarray, clip: float, bits: int) -> np.ndarray:
    """Unsigned integer codes (int64) of activations ``x``: round(clip(x, 0, c) / c * (2^bits - 1))."""
    levels = 2**bits - 1
    return np.rint(np.clip(x, 0.0, clip) * (levels / clip)).astype(np.int64)


def weight_signs(layer) -> tuple[np.ndarray, np.ndarray]:
    """(signs (fan_in, fan_out) int8 in {-1, 0, 1}, alpha (fan_out,) float64) of a quantized weight layer.

    Raises ConfigError if a column of the layer's matrix holds more than one non-zero magnitude.
    """
    m = np.asarray(layer.matrix, dtype=np.float64)
    alpha = np.max(np.abs(m), axis=0)
    safe = np.where(alpha > 0, alpha, 1.0)
    signs = np.rint(m / safe).astype(np.int8)
    if not np.allclose(np.abs(m), np.abs(signs) * alpha, rtol=1e-5, atol=0):
        raise ConfigError(f"layer {layer.name!r}: weights are not binary/ternary (one magnitude per output)")
    return signs, alpha


class QuantizedMVM:
    """Exact MVM of a quantized network: activation codes times the stored weights, in float64.

    y = (clip / (2^bits - 1)) codes(x) @ W, with the clip and bits of the network's ``meta``; the reference
    the digital in-memory engine reproduces when its bit operations make no errors.
    """

    def __init__(self, network: Network):
        try:
            self.bits = int(network.meta["act_bits"])
            self.clips = {name: float(c) for name, c in network.meta["act_clip"].items()}
        except KeyError as exc:
            raise ConfigError(f"network {network.name!r} is not a quantized network (meta lacks {exc})") from None

    def __call__(self, layer, x2d: np.ndarray) -> np.ndarray:
        clip = self.clips[layer.name]
        codes = quantize_activations(x2d, clip, self.bits)
        y = codes.astype(np.float64) @ layer.matrix.astype(np.float64)
        return (y * (clip / (2**self.bits - 1))).astype(np.float32)


@dataclass(frozen=True)
class QuantTrainConfig:
    """Recipe: ``weights`` (binary|ternary), ``act_bits`` (activation bits), ``epochs``, ``batch_size``,
    ``lr`` (Adam, cosine-annealed), ``clip_init`` (initial activation clip), ``train_limit`` (None: all), ``seed``."""

    weights: str = "binary"
    act_bits: int = 4
    epochs: int = 4
    batch_size: int = 128
    lr: float = 2e-3
    clip_init: float = 4.0
    train_limit: int | None = None
    seed: int = 0

    def __post_init__(self):
        if self.weights not in WEIGHT_KINDS:
            raise ConfigError(f"QuantTrainConfig.weights: expected one of {WEIGHT_KINDS}, got {self.weights!r}")
        if not 1 <= self.act_bits <= 8 or self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ConfigError("QuantTrainConfig: act_bits in [1, 8], epochs/batch_size >= 1, lr > 0")


def _parametrization(torch, kind: str):
    class QuantizedWeight(torch.nn.Module):
        def forward(self, w):
            flat = w.reshape(w.shape[0], -1)
            if kind == "binary":
                alpha = flat.abs().mean(dim=1)
                q = torch.sign(flat) * alpha[:, None]
            else:
                delta = TERNARY_THRESHOLD * flat.abs().mean(dim=1, keepdim=True)
                mask = (flat.abs() > delta).to(w.dtype)
                alpha = (flat.abs() * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)
                q = torch.sign(flat) * mask * alpha[:, None]
            q = q.reshape(w.shape)
            # straight-through estimator: forward q, backward identity (zeroed where |w| > 1)
            return q.detach() + (w - w.detach()) * (w.abs() <= 1).to(w.dtype)

    return QuantizedWeight()


def _activation_hook(torch, bits: int):
    levels = 2**bits - 1

    def hook(module, args):
        (x,) = args
        c = module.act_clip
        y = torch.minimum(torch.relu(x), c)  # gradient reaches c where x > c (PACT)
        q = torch.round(y * (levels / c)) * (c / levels)
        return (y + (q - y).detach(),)

    return hook


def train_quantized(arch: str, dataset: str, config: QuantTrainConfig = QuantTrainConfig(),
                    progress: bool = False) -> Network:
    """Train ``arch`` (mlp|resnet) with quantized weights and activations on ``dataset``; return the Network.

    ``meta`` records the recipe, ``weights``, ``act_bits``, ``act_clip`` {layer: clip}, and the test accuracy
    evaluated exactly with quantized activations (``exact_test_accuracy``) and with float activations
    (``float_test_accuracy``, the plain float evaluation of the stored weights).
    """
    torch = require("torch", "training quantized networks", "torch")
    from tqdm.auto import tqdm

    if arch not in ARCHITECTURES:
        raise ConfigError(f"unknown architecture {arch!r}; expected one of {ARCHITECTURES}")
    parametrize = torch.nn.utils.parametrize
    train_split = load_dataset(dataset, "train").subset(config.train_limit, np.random.default_rng(config.seed))
    test_split = load_dataset(dataset, "test")
    input_shape, classes = train_split.x.shape[1:], len(train_split.classes)
    network = build_network(arch, input_shape, classes, np.random.default_rng(config.seed))
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed + 1)
    model = to_torch(network)
    weight_modules = [m for m in model.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]
    for i, module in enumerate(weight_modules):
        parametrize.register_parametrization(module, "weight", _parametrization(torch, config.weights))
        clip = torch.tensor(1.0 if i == 0 else config.clip_init)
        module.act_clip = torch.nn.Parameter(clip, requires_grad=i > 0)
        module.register_forward_pre_hook(_activation_hook(torch, config.act_bits))
    x_all = torch.from_numpy(np.array(train_split.x))
    y_all = torch.from_numpy(np.array(train_split.y))
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    steps = config.epochs * int(np.ceil(len(train_split) / config.batch_size))
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    loss_fn = torch.nn.CrossEntropyLoss()
    bar = tqdm(total=steps, desc=f"train {config.weights} {arch}", disable=not progress, unit="batch")
    for epoch in range(config.epochs):
        model.train()
        order = torch.randperm(len(train_split), generator=generator)
        for start in range(0, len(order), config.batch_size):
            idx = order[start:start + config.batch_size]
            loss = loss_fn(model(x_all[idx]), y_all[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            bar.update(1)
        log.info("epoch %d: last training loss %.4f", epoch + 1, loss.item())
    bar.close()
    model.eval()
    clips = []
    for module in weight_modules:
        parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
        clips.append(float(module.act_clip.detach()))
        module._forward_pre_hooks.clear()
        del module.act_clip
    trained = from_torch(model, input_shape, classes, name=f"{arch}-{dataset}")
    trained = Network.from_spec(network.spec(), dict(zip(network.arrays(), trained.arrays().values())))
    names = [layer.name for layer in trained.weight_layers()]
    trained.meta.update({"architecture": arch, "dataset": dataset, "training": asdict(config),
                         "weights": config.weights, "act_bits": config.act_bits,
                         "act_clip": dict(zip(names, clips)),
                         "float_test_accuracy": trained.accuracy(test_split.x, test_split.y)})
    trained.meta["exact_test_accuracy"] = trained.accuracy(test_split.x, test_split.y, mvm=QuantizedMVM(trained))
    trained.name = f"{arch}-{dataset}-{config.weights}"
    return trained
