"""Network layers in numpy (float32): Linear, Conv2d (im2col), BatchNorm, ReLU, pooling, residual blocks.

Activations are NHWC inside the network (channels last, so im2col patches and BatchNorm act on the last
axis without transposes); :class:`Flatten` restores PyTorch's NCHW flattening order so weights trained in
PyTorch load unchanged. Weight layers do their matrix-vector products through an ``mvm`` callable
``mvm(layer, x2d) -> y2d`` (x2d: (batch, rows), y2d: (batch, cols)); the float one is
:func:`float_mvm`, the analog one lives in :mod:`devicelab.inference.analog`. Biases are added digitally.

An ``mvm`` object may also have a method ``encode_input(layer, x) -> x`` for elementwise input encoding
(the DAC); weight layers call it before im2col, which is exact for elementwise maps that keep 0 at 0 and
saves encoding every input kh*kw times.

Every layer describes itself with :meth:`spec` (JSON-able dict, no arrays) and :meth:`arrays`
(name -> array); :func:`layer_from_spec` is the inverse. No layer changes its input.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from devicelab.errors import ModelFileError

MVM = Callable[["WeightLayer", np.ndarray], np.ndarray]


def float_mvm(layer: "WeightLayer", x2d: np.ndarray) -> np.ndarray:
    """Exact float32 matrix product ``x2d @ layer.matrix`` (the digital reference)."""
    return x2d @ layer.matrix


def _f32(a) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


class Layer:
    """Base class: ``forward(x, mvm)`` plus serialization."""

    kind = "layer"
    name = ""

    def forward(self, x: np.ndarray, mvm: MVM = float_mvm) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def spec(self) -> dict:
        """JSON-able description (no arrays)."""
        return {"type": self.kind}

    def arrays(self) -> dict[str, np.ndarray]:
        """Named parameter arrays, keys prefixed with the layer name."""
        return {}

    def sublayers(self) -> list["Layer"]:
        """This layer and, for containers, every layer inside (depth first)."""
        return [self]


class WeightLayer(Layer):
    """A layer whose product with its weight matrix runs on crossbar tiles.

    :attr:`matrix` is the (rows, cols) = (fan_in, fan_out) float32 matrix the tiles hold.
    """

    weight: np.ndarray
    bias: np.ndarray | None
    matrix: np.ndarray

    def arrays(self) -> dict[str, np.ndarray]:
        out = {f"{self.name}.weight": self.weight}
        if self.bias is not None:
            out[f"{self.name}.bias"] = self.bias
        return out

    def _encode(self, x: np.ndarray, mvm) -> np.ndarray:
        encode = getattr(mvm, "encode_input", None)
        return x if encode is None else encode(self, x)

    def _add_bias(self, y: np.ndarray) -> np.ndarray:
        return y if self.bias is None else y + self.bias


class Linear(WeightLayer):
    """Fully connected layer y = x W^T + b with ``weight`` of shape (out, in) (PyTorch layout)."""

    kind = "linear"

    def __init__(self, name: str, weight, bias=None):
        self.name = name
        self.weight = _f32(weight)
        if self.weight.ndim != 2:
            raise ModelFileError(f"linear layer {name!r}: weight must be 2-D (out, in), got {self.weight.shape}")
        self.bias = None if bias is None else _f32(bias)
        if self.bias is not None and self.bias.shape != (self.weight.shape[0],):
            raise ModelFileError(f"linear layer {name!r}: bias shape {self.bias.shape}, "
                                 f"expected ({self.weight.shape[0]},)")
        self.matrix = np.ascontiguousarray(self.weight.T)

    def forward(self, x, mvm=float_mvm):
        if x.ndim != 2 or x.shape[1] != self.matrix.shape[0]:
            raise ValueError(f"linear layer {self.name!r} expects (batch, {self.matrix.shape[0]}), got {x.shape}")
        return self._add_bias(mvm(self, self._encode(x, mvm)))

    def spec(self):
        return {"type": self.kind, "name": self.name, "in": self.weight.shape[1], "out": self.weight.shape[0],
                "bias": self.bias is not None}


class Conv2d(WeightLayer):
    """2-D convolution on NHWC activations via im2col; ``weight`` is (out, in, kh, kw) (PyTorch layout)."""

    kind = "conv2d"

    def __init__(self, name: str, weight, bias=None, stride: int = 1, padding: int = 0):
        self.name = name
        self.weight = _f32(weight)
        if self.weight.ndim != 4:
            raise ModelFileError(f"conv2d layer {name!r}: weight must be 4-D (out, in, kh, kw), "
                                 f"got {self.weight.shape}")
        self.bias = None if bias is None else _f32(bias)
        self.stride = int(stride)
        self.padding = int(padding)
        out_ch = self.weight.shape[0]
        # im2col rows are ordered (kh, kw, C): each kernel offset copies a contiguous channel block.
        self.matrix = np.ascontiguousarray(self.weight.transpose(0, 2, 3, 1).reshape(out_ch, -1).T)

    def im2col(self, x: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int]]:
        """(batch*Ho*Wo, kh*kw*C) patch matrix of NHWC ``x`` (rows of :attr:`matrix` in the same order)
        and the output size (N, Ho, Wo)."""
        _, in_ch, kh, kw = self.weight.shape
        if x.ndim != 4 or x.shape[3] != in_ch:
            raise ValueError(f"conv2d layer {self.name!r} expects NHWC input with {in_ch} channels, got {x.shape}")
        p, s = self.padding, self.stride
        n, h, w, _ = x.shape
        ho, wo = (h + 2 * p - kh) // s + 1, (w + 2 * p - kw) // s + 1
        if p:
            x = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
        cols = np.empty((n, ho, wo, kh, kw, in_ch), dtype=np.float32)
        for i in range(kh):
            for j in range(kw):
                cols[:, :, :, i, j, :] = x[:, i:i + s * (ho - 1) + 1:s, j:j + s * (wo - 1) + 1:s, :]
        return cols.reshape(n * ho * wo, kh * kw * in_ch), (n, ho, wo)

    def forward(self, x, mvm=float_mvm):
        cols, (n, ho, wo) = self.im2col(self._encode(x, mvm))
        return self._add_bias(mvm(self, cols)).reshape(n, ho, wo, -1)

    def spec(self):
        out_ch, in_ch, kh, _ = self.weight.shape
        return {"type": self.kind, "name": self.name, "in": in_ch, "out": out_ch, "kernel": kh,
                "stride": self.stride, "padding": self.padding, "bias": self.bias is not None}


class BatchNorm(Layer):
    """Inference batch norm on the last axis: (x - mean) / sqrt(var + eps) * gamma + beta (digital)."""

    kind = "batchnorm"

    def __init__(self, name: str, gamma, beta, mean, var, eps: float = 1e-5):
        self.name = name
        self.gamma, self.beta, self.mean, self.var = (_f32(a) for a in (gamma, beta, mean, var))
        if not (self.gamma.shape == self.beta.shape == self.mean.shape == self.var.shape) or self.gamma.ndim != 1:
            raise ModelFileError(f"batchnorm layer {name!r}: gamma/beta/mean/var must be 1-D of equal length")
        if np.any(self.var < 0):
            raise ModelFileError(f"batchnorm layer {name!r}: negative running variance")
        self.eps = float(eps)

    def scale_shift(self, mean=None, var=None) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel (scale, shift) with the stored (or the given) statistics."""
        mean = self.mean if mean is None else mean
        var = self.var if var is None else var
        scale = self.gamma / np.sqrt(var + np.float32(self.eps))
        return scale.astype(np.float32), (self.beta - mean * scale).astype(np.float32)

    def forward(self, x, mvm=float_mvm):
        scale, shift = self.scale_shift()
        out = x * scale
        out += shift
        return out

    def spec(self):
        return {"type": self.kind, "name": self.name, "channels": int(self.gamma.shape[0]), "eps": self.eps}

    def arrays(self):
        return {f"{self.name}.{k}": getattr(self, k) for k in ("gamma", "beta", "mean", "var")}


class ReLU(Layer):
    """max(x, 0)."""

    kind = "relu"

    def forward(self, x, mvm=float_mvm):
        return np.maximum(x, np.float32(0))


class _Pool(Layer):
    def __init__(self, kernel: int):
        self.kernel = int(kernel)

    def _windows(self, x):
        k = self.kernel
        n, h, w, c = x.shape
        ho, wo = h // k, w // k
        return x[:, :ho * k, :wo * k].reshape(n, ho, k, wo, k, c)

    def spec(self):
        return {"type": self.kind, "kernel": self.kernel}


class MaxPool2d(_Pool):
    """k x k max pooling with stride k on NHWC activations (edges that do not fill a window are dropped)."""

    kind = "maxpool"

    def forward(self, x, mvm=float_mvm):
        return self._windows(x).max(axis=(2, 4))


class AvgPool2d(_Pool):
    """k x k average pooling with stride k on NHWC activations."""

    kind = "avgpool"

    def forward(self, x, mvm=float_mvm):
        return self._windows(x).mean(axis=(2, 4), dtype=np.float32)


class GlobalAvgPool(Layer):
    """Mean over the spatial axes: NHWC -> (N, C)."""

    kind = "global_avgpool"

    def forward(self, x, mvm=float_mvm):
        return x.mean(axis=(1, 2), dtype=np.float32)


class Flatten(Layer):
    """NHWC -> (N, C*H*W) in PyTorch's NCHW order (2-D inputs pass unchanged)."""

    kind = "flatten"

    def forward(self, x, mvm=float_mvm):
        if x.ndim == 2:
            return x
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2)).reshape(x.shape[0], -1)


class Residual(Layer):
    """Residual block: relu(body(x) + shortcut(x)); an empty shortcut is the identity."""

    kind = "residual"

    def __init__(self, name: str, body: list[Layer], shortcut: list[Layer] | None = None):
        self.name = name
        self.body = list(body)
        self.shortcut = list(shortcut or [])

    def forward(self, x, mvm=float_mvm):
        y = run_layers(self.body, x, mvm)
        s = run_layers(self.shortcut, x, mvm)
        return np.maximum(y + s, np.float32(0))

    def spec(self):
        return {"type": self.kind, "name": self.name, "body": [l.spec() for l in self.body],
                "shortcut": [l.spec() for l in self.shortcut]}

    def arrays(self):
        out = {}
        for layer in self.body + self.shortcut:
            out.update(layer.arrays())
        return out

    def sublayers(self):
        out: list[Layer] = [self]
        for layer in self.body + self.shortcut:
            out += layer.sublayers()
        return out


def run_layers(layers: list[Layer], x: np.ndarray, mvm: MVM = float_mvm) -> np.ndarray:
    """Apply ``layers`` in order."""
    for layer in layers:
        x = layer.forward(x, mvm)
    return x


def layer_from_spec(spec: dict, arrays: dict[str, np.ndarray], where: str = "weights") -> Layer:
    """Rebuild a layer from :meth:`Layer.spec` output and its arrays; ModelFileError if anything is missing."""
    kind = spec.get("type")

    def get(key, optional=False):
        if key in arrays:
            return arrays[key]
        if optional:
            return None
        raise ModelFileError(f"{where}: array {key!r} missing for layer {spec.get('name')!r}")

    try:
        if kind == "linear":
            layer = Linear(spec["name"], get(f"{spec['name']}.weight"),
                           get(f"{spec['name']}.bias", optional=not spec.get("bias", False)))
            if layer.weight.shape != (spec["out"], spec["in"]):
                raise ModelFileError(f"{where}: {spec['name']}.weight has shape {layer.weight.shape}, "
                                     f"expected ({spec['out']}, {spec['in']})")
            return layer
        if kind == "conv2d":
            conv = Conv2d(spec["name"], get(f"{spec['name']}.weight"),
                          get(f"{spec['name']}.bias", optional=not spec.get("bias", False)),
                          stride=spec.get("stride", 1), padding=spec.get("padding", 0))
            k = spec["kernel"]
            if conv.weight.shape != (spec["out"], spec["in"], k, k):
                raise ModelFileError(f"{where}: {spec['name']}.weight has shape {conv.weight.shape}, "
                                     f"expected ({spec['out']}, {spec['in']}, {k}, {k})")
            return conv
        if kind == "batchnorm":
            n = spec["name"]
            return BatchNorm(n, get(f"{n}.gamma"), get(f"{n}.beta"), get(f"{n}.mean"), get(f"{n}.var"),
                             spec.get("eps", 1e-5))
        if kind == "relu":
            return ReLU()
        if kind == "maxpool":
            return MaxPool2d(spec["kernel"])
        if kind == "avgpool":
            return AvgPool2d(spec["kernel"])
        if kind == "global_avgpool":
            return GlobalAvgPool()
        if kind == "flatten":
            return Flatten()
        if kind == "residual":
            return Residual(spec["name"], [layer_from_spec(s, arrays, where) for s in spec["body"]],
                            [layer_from_spec(s, arrays, where) for s in spec.get("shortcut", [])])
    except KeyError as exc:
        raise ModelFileError(f"{where}: layer spec {spec!r} lacks field {exc}") from exc
    raise ModelFileError(f"{where}: unknown layer type {kind!r}")
