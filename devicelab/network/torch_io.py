"""PyTorch bridge (optional ``torch`` extra): torch.nn.Module <-> :class:`~devicelab.network.model.Network`.

:func:`from_torch` accepts ``nn.Sequential`` containers (nested ones too) of ``Linear``, ``Conv2d`` (square
kernel, equal stride/padding on both axes, no groups/dilation), ``BatchNorm1d``/``BatchNorm2d`` (affine,
with running statistics), ``ReLU``, ``MaxPool2d``/``AvgPool2d`` (stride = kernel), ``AdaptiveAvgPool2d(1)``,
``Flatten`` and :class:`TorchResidual` blocks; anything else raises ConfigError rather than guessing the
forward pass. :func:`to_torch` builds the same module tree from a Network (used by training).
"""

from __future__ import annotations

import numpy as np

from devicelab.errors import ConfigError, require
from devicelab.network.layers import (
    AvgPool2d,
    BatchNorm,
    Conv2d,
    Flatten,
    GlobalAvgPool,
    Layer,
    Linear,
    MaxPool2d,
    ReLU,
    Residual,
)
from devicelab.network.model import Network


def _torch():
    return require("torch", "loading or training networks with PyTorch", "torch")


def _residual_class():
    nn = _torch().nn

    class TorchResidual(nn.Module):
        """relu(body(x) + shortcut(x)); an empty shortcut is the identity."""

        def __init__(self, body, shortcut):
            super().__init__()
            self.body = body
            self.shortcut = shortcut

        def forward(self, x):
            return nn.functional.relu(self.body(x) + self.shortcut(x))

    return TorchResidual


_RESIDUAL = None


def torch_residual_class():
    """The torch module class of a residual block (created on first use so torch stays optional)."""
    global _RESIDUAL
    if _RESIDUAL is None:
        _RESIDUAL = _residual_class()
    return _RESIDUAL


def _t(a):
    torch = _torch()
    return torch.from_numpy(np.array(a, dtype=np.float32))


def _layer_to_torch(layer: Layer, spatial: bool):
    nn = _torch().nn
    if isinstance(layer, Linear):
        m = nn.Linear(layer.weight.shape[1], layer.weight.shape[0], bias=layer.bias is not None)
    elif isinstance(layer, Conv2d):
        out_ch, in_ch, k, _ = layer.weight.shape
        m = nn.Conv2d(in_ch, out_ch, k, stride=layer.stride, padding=layer.padding, bias=layer.bias is not None)
    elif isinstance(layer, BatchNorm):
        cls = nn.BatchNorm2d if spatial else nn.BatchNorm1d
        m = cls(layer.gamma.shape[0], eps=layer.eps)
        with _torch().no_grad():
            m.weight.copy_(_t(layer.gamma)), m.bias.copy_(_t(layer.beta))
            m.running_mean.copy_(_t(layer.mean)), m.running_var.copy_(_t(layer.var))
        return m, spatial
    elif isinstance(layer, ReLU):
        return nn.ReLU(), spatial
    elif isinstance(layer, MaxPool2d):
        return nn.MaxPool2d(layer.kernel), spatial
    elif isinstance(layer, AvgPool2d):
        return nn.AvgPool2d(layer.kernel), spatial
    elif isinstance(layer, GlobalAvgPool):
        return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()), False
    elif isinstance(layer, Flatten):
        return nn.Flatten(), False
    elif isinstance(layer, Residual):
        body, _ = _layers_to_torch(layer.body, spatial)
        shortcut, _ = _layers_to_torch(layer.shortcut, spatial)
        return torch_residual_class()(body, shortcut), spatial
    else:  # pragma: no cover - every layer type is listed above
        raise ConfigError(f"no torch equivalent for layer {layer.kind!r}")
    with _torch().no_grad():
        m.weight.copy_(_t(layer.weight))
        if layer.bias is not None:
            m.bias.copy_(_t(layer.bias))
    return m, spatial


def _layers_to_torch(layers, spatial):
    nn = _torch().nn
    modules = []
    for layer in layers:
        m, spatial = _layer_to_torch(layer, spatial)
        modules.append(m)
    return nn.Sequential(*modules), spatial


def to_torch(network: Network):
    """A torch.nn.Sequential computing the same function as ``network`` (NCHW inputs), weights copied."""
    module, _ = _layers_to_torch(network.layers, True)
    return module


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float32)


def _pair(v, what, name):
    if isinstance(v, tuple):
        if len(set(v)) != 1:
            raise ConfigError(f"torch layer {name!r}: {what} {v} differs between axes; only square is supported")
        return int(v[0])
    return int(v)


def _module_to_layers(module, name: str) -> list[Layer]:
    nn = _torch().nn
    if isinstance(module, nn.Sequential):
        out: list[Layer] = []
        children = list(module.named_children())
        i = 0
        while i < len(children):
            child_name, child = children[i]
            full = f"{name}_{child_name}" if name else child_name
            if (isinstance(child, nn.AdaptiveAvgPool2d) and i + 1 < len(children)
                    and isinstance(children[i + 1][1], nn.Flatten)):
                if _pair(child.output_size, "output_size", full) != 1:
                    raise ConfigError(f"torch layer {full!r}: only AdaptiveAvgPool2d(1) is supported")
                out.append(GlobalAvgPool())
                i += 2
                continue
            out += _module_to_layers(child, full)
            i += 1
        return out
    if isinstance(module, torch_residual_class()) or type(module).__name__ == "TorchResidual":
        return [Residual(name, _module_to_layers(module.body, f"{name}_body"),
                         _module_to_layers(module.shortcut, f"{name}_shortcut"))]
    if isinstance(module, nn.Linear):
        return [Linear(name, _np(module.weight), None if module.bias is None else _np(module.bias))]
    if isinstance(module, nn.Conv2d):
        if module.groups != 1 or _pair(module.dilation, "dilation", name) != 1:
            raise ConfigError(f"torch layer {name!r}: grouped or dilated convolutions are not supported")
        if isinstance(module.padding, str) or module.padding_mode != "zeros":
            raise ConfigError(f"torch layer {name!r}: only numeric zero padding is supported")
        k = module.kernel_size
        if k[0] != k[1]:
            raise ConfigError(f"torch layer {name!r}: kernel {k} is not square")
        return [Conv2d(name, _np(module.weight), None if module.bias is None else _np(module.bias),
                       _pair(module.stride, "stride", name), _pair(module.padding, "padding", name))]
    if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        if not module.affine or module.running_mean is None:
            raise ConfigError(f"torch layer {name!r}: BatchNorm needs affine=True and running statistics")
        return [BatchNorm(name, _np(module.weight), _np(module.bias), _np(module.running_mean),
                          _np(module.running_var), module.eps)]
    if isinstance(module, nn.ReLU):
        return [ReLU()]
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        k = _pair(module.kernel_size, "kernel_size", name)
        s = _pair(module.stride if module.stride is not None else k, "stride", name)
        if s != k or _pair(module.padding, "padding", name) != 0:
            raise ConfigError(f"torch layer {name!r}: pooling must have stride = kernel and no padding")
        return [MaxPool2d(k) if isinstance(module, nn.MaxPool2d) else AvgPool2d(k)]
    if isinstance(module, nn.Flatten):
        return [Flatten()]
    raise ConfigError(f"torch module {name or type(module).__name__!r} ({type(module).__name__}) is not supported; "
                      "use nn.Sequential of Linear/Conv2d/BatchNorm/ReLU/pooling/Flatten and TorchResidual blocks")


def from_torch(module, input_shape: tuple[int, int, int], classes: int | None = None,
               name: str = "torch-network") -> Network:
    """Convert a torch module (see module docstring) into a Network taking (N, *input_shape) images.

    ``classes`` defaults to the output width of the last Linear layer.
    """
    layers = _module_to_layers(module, "")
    network_layers = Network(layers, input_shape, classes or 1, name).weight_layers()
    if classes is None:
        if not network_layers or not isinstance(network_layers[-1], Linear):
            raise ConfigError("from_torch: cannot infer the number of classes; pass classes=")
        classes = network_layers[-1].weight.shape[0]
    return Network(layers, input_shape, classes, name)
