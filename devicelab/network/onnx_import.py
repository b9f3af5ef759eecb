"""ONNX import (optional ``onnx`` extra): an ONNX inference graph -> :class:`~devicelab.network.model.Network`.

Supported operators: ``Gemm`` (any alpha/beta/transB; transA = 0), ``MatMul`` with a constant right operand
(followed optionally by ``Add`` of a constant bias), ``Conv`` (square kernel, equal strides and pads on all
sides or ``auto_pad`` SAME_* where that is symmetric, dilation 1, group 1), ``BatchNormalization``
(inference mode; kept as a digital BatchNorm layer like devicelab's own networks), ``Relu``,
``MaxPool``/``AveragePool`` (square kernel, stride = kernel, no padding, floor mode), ``GlobalAveragePool``
(and ``ReduceMean`` over the two spatial axes), ``Flatten`` (axis 1), ``Reshape`` to (batch, features), and
``Add``: of a constant (a bias of the preceding Gemm/MatMul/Conv) or of two branches that leave one tensor
and meet again followed by ``Relu`` (a residual block, ``relu(body(x) + shortcut(x))``). ``Constant`` nodes
(and ``Identity`` of constants, which the PyTorch exporter emits for shared initializers) are read as data;
``Identity`` of an activation and inference ``Dropout`` are no-ops. Shape arithmetic feeding a Reshape
(``Shape``/``Gather``/``Unsqueeze``/``Concat``, as ``x.view(x.size(0), -1)`` exports with a dynamic batch)
is evaluated from the known shapes. Anything else is refused by node name and op type, never approximated:
a graph devicelab cannot represent exactly is an error, not a different network.

Every Gemm/MatMul/Conv weight becomes a Linear/Conv2d layer, so the analog engine maps all of them onto
tiles. Weights must be initializers (or Constant nodes); the graph has one data input, (N, C, H, W) or
(N, F), with static C, H, W / F.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, cast

import numpy as np

from devicelab.errors import ModelFileError, require
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
    WeightLayer,
)
from devicelab.network.model import Network

_SHAPE_OPS = ("Gather", "Unsqueeze", "Concat", "Squeeze", "Cast")
SUPPORTED_OPS = ("Gemm", "MatMul", "Conv", "BatchNormalization", "Relu", "MaxPool", "AveragePool",
                 "GlobalAveragePool", "ReduceMean", "Add", "Flatten", "Reshape", "Identity", "Dropout")


def _onnx():
    return require("onnx", "importing ONNX networks", "onnx")


def _attrs(node) -> dict:
    helper = _onnx().helper
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _safe_name(text: str, fallback: str) -> str:
    cleaned = "".join(c if c.isalnum() else "_" for c in text).strip("_")
    return cleaned or fallback


class _Tensor:
    """Shape of an activation without the batch axis, in ONNX order: (C, H, W) or (F,).

    ``flat`` is True when devicelab already holds the tensor as (N, F) while ONNX still has (C, 1, 1)
    (after GlobalAveragePool), so only ops that accept either are allowed on it.
    """

    def __init__(self, shape: tuple[int, ...], flat: bool = False):
        self.shape = tuple(int(s) for s in shape)
        self.flat = flat or len(self.shape) == 1

    @property
    def features(self) -> int:
        return int(np.prod(self.shape))


class _Converter:
    def __init__(self, model, where: str):
        self.where = where
        graph = model.graph
        numpy_helper = _onnx().numpy_helper
        self.constants: dict[str, np.ndarray] = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
        self.nodes = []
        # Shape arithmetic (x.view(x.size(0), -1) exported with a dynamic batch) is evaluated, not converted.
        self.shape_nodes: dict[str, Any] = {}  # ONNX NodeProto by output name
        self.shapes: dict[str, _Tensor] = {}
        for node in graph.node:
            if node.op_type == "Constant":
                self.constants[node.output[0]] = self._constant_value(node)
            elif node.op_type == "Identity" and node.input[0] in self.constants:
                self.constants[node.output[0]] = self.constants[node.input[0]]
            elif node.op_type == "Shape" or (
                    node.op_type in _SHAPE_OPS and any(i in self.shape_nodes for i in node.input)
                    and all(i in self.constants or i in self.shape_nodes for i in node.input if i)):
                self.shape_nodes.update({o: node for o in node.output})
            else:
                self.nodes.append(node)
        self.consumers: dict[str, list] = {}
        for node in self.nodes:
            for name in node.input:
                if name and name not in self.constants:
                    self.consumers.setdefault(name, []).append(node)
        self.outputs = [o.name for o in graph.output]
        inputs = [i for i in graph.input if i.name not in self.constants]
        if len(inputs) != 1:
            raise ModelFileError(f"{where}: expected one data input, found {[i.name for i in inputs]}")
        self.input = inputs[0]
        if len(self.outputs) != 1:
            raise ModelFileError(f"{where}: expected one graph output, found {self.outputs}")
        self.names: set[str] = set()
        self.used_nodes: set[int] = set()

    # ------------------------------------------------------------------ helpers
    def _constant_value(self, node) -> np.ndarray:
        attrs = _attrs(node)
        if "value" in attrs:
            return _onnx().numpy_helper.to_array(attrs["value"])
        for key in ("value_float", "value_int"):
            if key in attrs:
                return np.array(attrs[key])
        for key in ("value_floats", "value_ints"):
            if key in attrs:
                return np.array(list(attrs[key]))
        raise ModelFileError(f"{self.where}: Constant node {node.name!r} has no supported value attribute")

    def _shape_value(self, name: str) -> np.ndarray:
        """Value of a shape-arithmetic tensor; the batch size appears as 0 ("copy this axis" in Reshape)."""
        if name in self.constants:
            return np.asarray(self.constants[name])
        node = self.shape_nodes[name]
        a = _attrs(node)
        if node.op_type == "Shape":
            if node.input[0] not in self.shapes:
                raise self._fail(node, f"shape of {node.input[0]!r} is needed before it is computed")
            full = np.array((0, *self.shapes[node.input[0]].shape), np.int64)
            return full[a.get("start", 0):a.get("end", len(full))]
        args = [self._shape_value(i) for i in node.input if i]
        if node.op_type == "Gather":
            if a.get("axis", 0) != 0:
                raise self._fail(node, "only Gather along axis 0 of a shape is supported")
            return np.take(args[0], args[1])
        if node.op_type == "Unsqueeze":
            return np.reshape(args[0], -1)
        if node.op_type == "Concat":
            return np.concatenate([np.reshape(v, -1) for v in args])
        if node.op_type in ("Squeeze", "Cast"):
            return np.reshape(args[0], -1) if node.op_type == "Squeeze" else args[0]
        raise self._fail(node, "shape arithmetic other than Shape/Gather/Unsqueeze/Concat/Squeeze/Cast")

    def _fail(self, node, message: str) -> ModelFileError:
        return ModelFileError(f"{self.where}: node {node.name or '(unnamed)'!r} ({node.op_type}): {message}")

    def _const(self, node, index: int, what: str, optional: bool = False) -> np.ndarray | None:
        if index >= len(node.input) or not node.input[index]:
            if optional:
                return None
            raise self._fail(node, f"missing input {what}")
        name = node.input[index]
        if name in self.shape_nodes:
            return self._shape_value(name)
        if name not in self.constants:
            raise self._fail(node, f"{what} {name!r} must be a constant (initializer), not a computed tensor")
        return np.asarray(self.constants[name])

    def _layer_name(self, node, fallback: str) -> str:
        base = _safe_name(node.name, fallback)
        name, k = base, 2
        while name in self.names:
            name, k = f"{base}_{k}", k + 1
        self.names.add(name)
        return name

    def input_shape(self) -> tuple[int, ...]:
        dims = self.input.type.tensor_type.shape.dim
        shape = []
        for i, d in enumerate(dims):
            if i > 0 and (not d.HasField("dim_value") or d.dim_value <= 0):
                raise ModelFileError(f"{self.where}: input {self.input.name!r} axis {i} is not static "
                                     f"({d.dim_param or 'unknown'}); export with fixed image sizes")
            shape.append(int(d.dim_value) if d.HasField("dim_value") else -1)
        if len(shape) not in (2, 4):
            raise ModelFileError(f"{self.where}: input {self.input.name!r} has rank {len(shape)}; "
                                 "expected (N, C, H, W) or (N, F)")
        return tuple(shape[1:])

    # ------------------------------------------------------------------ graph walk
    def _is_join(self, node) -> bool:
        return node.op_type == "Add" and all(i not in self.constants for i in node.input)

    def walk(self, x: str, t: _Tensor, first=None) -> tuple[list[Layer], str, _Tensor, object]:
        """Convert the chain starting at tensor ``x`` (or at node ``first``, one consumer of ``x``) until the
        graph output or a two-branch Add; return (layers, last tensor, its shape, the Add node or None)."""
        layers: list[Layer] = []
        while True:
            if first is not None:
                consumers, first = [first], None
            else:
                if x in self.outputs:
                    return layers, x, t, None
                consumers = self.consumers.get(x, [])
            if not consumers:
                raise ModelFileError(f"{self.where}: tensor {x!r} is not used and is not the graph output")
            if len(consumers) == 1 and self._is_join(consumers[0]):
                return layers, x, t, consumers[0]
            if len(consumers) == 1:
                node = consumers[0]
                self.used_nodes.add(id(node))
                new_layers, t = self.convert(node, t, layers)
                layers += new_layers
                x = node.output[0]
                self.shapes[x] = t
                continue
            if len(consumers) == 2:
                block, x, t = self.residual(x, t, consumers)
                layers.append(block)
                continue
            raise ModelFileError(f"{self.where}: tensor {x!r} feeds {len(consumers)} nodes "
                                 f"({', '.join(n.name for n in consumers)}); only two-branch residual blocks "
                                 "are supported")

    def residual(self, x: str, t: _Tensor, consumers) -> tuple[Residual, str, _Tensor]:
        branches: list[tuple[list, str, _Tensor, Any]] = []  # (layers, tensor, shape, joining Add node)
        for node in consumers:
            if self._is_join(node):
                branches.append(([], x, t, node))
            else:
                branches.append(self.walk(x, t, first=node))
        (l1, _, t1, add1), (l2, _, t2, add2) = branches
        if add1 is None or add2 is None or add1 is not add2:
            raise ModelFileError(f"{self.where}: the two branches leaving tensor {x!r} do not meet in one Add; "
                                 "only residual blocks relu(body(x) + shortcut(x)) are supported")
        add = add1
        self.used_nodes.add(id(add))
        if t1.shape != t2.shape:
            raise self._fail(add, f"adds branches of shapes {t1.shape} and {t2.shape}")
        after = self.consumers.get(add.output[0], [])
        if add.output[0] in self.outputs or len(after) != 1 or after[0].op_type != "Relu":
            raise self._fail(add, "a residual Add must be followed by exactly one Relu (devicelab's blocks are "
                                  "relu(body(x) + shortcut(x))); pre-activation blocks are not supported")
        relu = after[0]
        self.used_nodes.add(id(relu))
        self.shapes[relu.output[0]] = t1
        body, shortcut = (l1, l2) if len(l1) >= len(l2) else (l2, l1)
        name = self._layer_name(add, "residual")
        return Residual(name, body, shortcut), relu.output[0], t1

    # ------------------------------------------------------------------ single nodes
    def convert(self, node, t: _Tensor, previous: list[Layer]) -> tuple[list[Layer], _Tensor]:
        op = node.op_type
        method = getattr(self, f"_op_{op}", None)
        if method is None or op not in SUPPORTED_OPS:
            hint = ("; a final softmax does not change the predicted class: export the logits"
                    if op in ("Softmax", "LogSoftmax") else "")
            raise self._fail(node, f"operator {op!r} is not supported (supported: {', '.join(SUPPORTED_OPS)}){hint}")
        return method(node, _attrs(node), t, previous)

    def _need_flat(self, node, t: _Tensor):
        if not t.flat and len(t.shape) != 1:
            raise self._fail(node, f"expects a (batch, features) input, got (batch, {', '.join(map(str, t.shape))})")

    def _need_spatial(self, node, t: _Tensor):
        if t.flat:
            raise self._fail(node, f"expects an (N, C, H, W) input, got (batch, {t.features}) features")

    def _linear(self, node, t, weight, bias):
        """weight (out, in) -> Linear; check the input width."""
        if weight.shape[1] != t.features:
            raise self._fail(node, f"weight {node.input[1]!r} has shape {tuple(weight.shape)} for an input of "
                                   f"{t.features} features")
        return [Linear(self._layer_name(node, "linear"), weight, bias)], _Tensor((weight.shape[0],))

    def _op_Gemm(self, node, a, t, previous):
        self._need_flat(node, t)
        if a.get("transA", 0):
            raise self._fail(node, "transA = 1 (transposed activations) is not supported")
        b = self._const(node, 1, "B").astype(np.float64)
        if b.ndim != 2:
            raise self._fail(node, f"B {node.input[1]!r} has shape {b.shape}, expected 2-D")
        weight = (b if a.get("transB", 0) else b.T) * a.get("alpha", 1.0)
        c = self._const(node, 2, "C", optional=True)
        bias = None
        if c is not None:
            try:
                bias = np.broadcast_to(np.asarray(c, np.float64), (1, weight.shape[0]))[0] * a.get("beta", 1.0)
            except ValueError:
                raise self._fail(node, f"C {node.input[2]!r} has shape {c.shape}, expected ({weight.shape[0]},) "
                                       f"or broadcastable to it") from None
        return self._linear(node, t, weight, bias)

    def _op_MatMul(self, node, a, t, previous):
        self._need_flat(node, t)
        if node.input[0] in self.constants:
            raise self._fail(node, "a constant left operand (W @ x) is not supported; expected x @ W")
        w = self._const(node, 1, "B")
        if w.ndim != 2:
            raise self._fail(node, f"B {node.input[1]!r} has shape {w.shape}, expected 2-D (in, out)")
        return self._linear(node, t, w.T, None)

    def _op_Add(self, node, a, t, previous):
        """Add of a constant: the bias of the weight layer just before."""
        const_inputs = [i for i in node.input if i in self.constants]
        value = np.asarray(self.constants[const_inputs[0]], np.float64)
        layer = previous[-1] if previous else None
        if not isinstance(layer, WeightLayer) or layer.bias is not None:
            raise self._fail(node, "adds a constant that is not the bias of a directly preceding "
                                   "Gemm/MatMul/Conv without bias; only such bias additions are supported")
        channels = layer.weight.shape[0]
        if isinstance(layer, Conv2d):
            ok = value.size == channels and (value.ndim <= 1 or value.shape[-2:] == (1, 1))
        else:
            ok = value.size == channels and value.shape[-1:] == (channels,)
        if not ok:
            raise self._fail(node, f"bias {const_inputs[0]!r} has shape {value.shape}, expected "
                                   f"({channels},) broadcast over the output of {layer.name!r}")
        layer.bias = value.reshape(channels).astype(np.float32)
        return [], t

    def _op_Conv(self, node, a, t, previous):
        self._need_spatial(node, t)
        w = self._const(node, 1, "W")
        b = self._const(node, 2, "B", optional=True)
        if w.ndim != 4:
            raise self._fail(node, f"weight {node.input[1]!r} has shape {w.shape}; only 2-D convolutions "
                                   "(4-D weights) are supported")
        out_ch, in_ch, kh, kw = w.shape
        if a.get("group", 1) != 1:
            raise self._fail(node, f"group = {a['group']}: grouped/depthwise convolutions are not supported")
        if any(d != 1 for d in a.get("dilations", [1, 1])):
            raise self._fail(node, f"dilations {list(a['dilations'])} are not supported (only 1)")
        if kh != kw:
            raise self._fail(node, f"kernel {kh}x{kw} is not square")
        strides = list(a.get("strides", [1, 1]))
        if len(set(strides)) != 1:
            raise self._fail(node, f"strides {strides} differ between axes")
        pads = self._pads(node, a, kh, strides[0], t)
        if in_ch != t.shape[0]:
            raise self._fail(node, f"weight {node.input[1]!r} has shape {tuple(w.shape)}, expected "
                                   f"({out_ch}, {t.shape[0]}, {kh}, {kw}) for an input of {t.shape[0]} channels")
        if b is not None and b.shape != (out_ch,):
            raise self._fail(node, f"bias {node.input[2]!r} has shape {b.shape}, expected ({out_ch},)")
        s = strides[0]
        h, wd = ((n + 2 * pads - kh) // s + 1 for n in t.shape[1:])
        if h < 1 or wd < 1:
            raise self._fail(node, f"kernel {kh} larger than the padded input {t.shape[1:]}")
        return [Conv2d(self._layer_name(node, "conv"), w, b, s, pads)], _Tensor((out_ch, h, wd))

    def _pads(self, node, a, k, s, t) -> int:
        auto_pad = a.get("auto_pad", b"NOTSET")
        auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
        if auto_pad == "VALID":
            return 0
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            # Output size ceil(n / s): total padding (ceil(n/s) - 1) s + k - n, split evenly when it is even.
            totals = {max((-(-n // s) - 1) * s + k - n, 0) for n in t.shape[1:]}
            if len(totals) == 1 and totals.pop() % 2 == 0:
                return (max((-(-t.shape[1] // s) - 1) * s + k - t.shape[1], 0)) // 2
            raise self._fail(node, f"auto_pad {auto_pad!r} needs unequal padding for input {t.shape[1:]} "
                                   f"(kernel {k}, stride {s}); only symmetric padding is supported")
        if auto_pad != "NOTSET":
            raise self._fail(node, f"auto_pad {auto_pad!r} is not supported; export with explicit pads")
        pads = list(a.get("pads", [0, 0, 0, 0]))
        if len(set(pads)) != 1:
            raise self._fail(node, f"pads {pads} are not equal on all sides")
        return int(pads[0])

    def _op_BatchNormalization(self, node, a, t, previous):
        if a.get("training_mode", 0):
            raise self._fail(node, "training_mode = 1 is not an inference graph")
        names = ("scale", "B", "input_mean", "input_var")
        gamma, beta, mean, var = (self._const(node, i + 1, n) for i, n in enumerate(names))
        channels = t.shape[0]
        for i, (n, v) in enumerate(zip(names, (gamma, beta, mean, var))):
            if v.shape != (channels,):
                raise self._fail(node, f"{n} {node.input[i + 1]!r} has shape {v.shape}, expected ({channels},)")
        layer = BatchNorm(self._layer_name(node, "bn"), gamma, beta, mean, var, a.get("epsilon", 1e-5))
        return [layer], t

    def _op_Identity(self, node, a, t, previous):
        return [], t

    def _op_Relu(self, node, a, t, previous):
        return [ReLU()], t

    def _pool(self, node, a, t, cls):
        self._need_spatial(node, t)
        k = list(a.get("kernel_shape", []))
        if len(k) != 2 or k[0] != k[1]:
            raise self._fail(node, f"kernel_shape {k} is not a square 2-D kernel")
        strides = list(a.get("strides", [1, 1]))
        if strides != k:
            raise self._fail(node, f"strides {strides} differ from kernel_shape {k}; only stride = kernel")
        if any(a.get("pads", [0])) or a.get("ceil_mode", 0) or any(d != 1 for d in a.get("dilations", [1])):
            raise self._fail(node, "padding, ceil_mode and dilation are not supported")
        auto_pad = a.get("auto_pad", b"NOTSET")
        if (auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad) not in ("NOTSET", "VALID"):
            raise self._fail(node, f"auto_pad {auto_pad!r} is not supported")
        c, h, w = t.shape
        return [cls(k[0])], _Tensor((c, h // k[0], w // k[0]))

    def _op_MaxPool(self, node, a, t, previous):
        if len(node.output) > 1 and node.output[1]:
            raise self._fail(node, "the Indices output is not supported")
        return self._pool(node, a, t, MaxPool2d)

    def _op_AveragePool(self, node, a, t, previous):
        return self._pool(node, a, t, AvgPool2d)

    def _op_GlobalAveragePool(self, node, a, t, previous):
        self._need_spatial(node, t)
        return [GlobalAvgPool()], _Tensor((t.shape[0], 1, 1), flat=True)

    def _op_ReduceMean(self, node, a, t, previous):
        """Mean over the two spatial axes (``x.mean((2, 3))``): a global average pool."""
        self._need_spatial(node, t)
        axes = a.get("axes")
        if axes is None and len(node.input) > 1 and node.input[1]:
            axes = self._const(node, 1, "axes").reshape(-1).tolist()
        if axes is None or sorted(int(v) % 4 for v in axes) != [2, 3]:
            raise self._fail(node, f"axes {axes} are not the two spatial axes (2, 3)")
        flat_shape = (t.shape[0], 1, 1) if a.get("keepdims", 1) else (t.shape[0],)
        return [GlobalAvgPool()], _Tensor(flat_shape, flat=True)

    def _op_Dropout(self, node, a, t, previous):
        """Inference dropout is the identity (a training_mode input must be absent or false)."""
        if len(node.input) > 2 and node.input[2]:
            mode = self._const(node, 2, "training_mode")
            if bool(np.asarray(mode).reshape(-1)[0]):
                raise self._fail(node, "training_mode = true is not an inference graph")
        if len(node.output) > 1 and node.output[1]:
            raise self._fail(node, "the mask output is not supported")
        return [], t

    def _op_Flatten(self, node, a, t, previous):
        if a.get("axis", 1) != 1:
            raise self._fail(node, f"axis = {a['axis']}; only axis 1 (keep the batch axis) is supported")
        return [Flatten()], _Tensor((t.features,))

    def _op_Reshape(self, node, a, t, previous):
        target = [int(v) for v in self._const(node, 1, "shape").reshape(-1)]
        f = t.features
        # (batch, features): the batch entry may be 0 (copy), -1 (infer) or the export batch size.
        if len(target) == 2 and target[0] >= -1 and (target[1] == f or (target[1] == -1 and target[0] != -1)):
            return [Flatten()], _Tensor((f,))
        raise self._fail(node, f"reshape to {target} is not supported; only (batch, {f}) flattening")


def load_onnx(path: str | os.PathLike, name: str | None = None) -> Network:
    """Read an ONNX model file as a devicelab Network (see module docstring for the supported graphs).

    Parameters
    ----------
    path : path-like
        ``.onnx`` file (weights inside the file or in external data next to it).
    name : str, optional
        Network name (default: the file stem).

    Returns
    -------
    Network
        Input shape (C, H, W) from the graph input; a (N, F) input becomes (F, 1, 1) behind a Flatten
        (see :func:`~devicelab.network.formats.adapt_input_shape` to give it an image shape).

    Raises
    ------
    ModelFileError
        Unreadable file, unsupported operator or attribute (named with its node), or inconsistent shapes
        (named with the tensor and the expected shape).
    MissingDependencyError
        The ``onnx`` package is not installed.
    """
    onnx = _onnx()
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: ONNX file not found")
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # onnx raises protobuf DecodeError and others
        raise ModelFileError(f"{path}: not a readable ONNX model ({type(exc).__name__}: {exc})") from exc
    conv = _Converter(model, str(path))
    shape = conv.input_shape()
    conv.shapes[conv.input.name] = _Tensor(shape)
    layers, last, t, add = conv.walk(conv.input.name, _Tensor(shape))
    if add is not None:
        raise conv._fail(add, "Add of two branches that do not leave one common tensor")
    unused = [n for n in conv.nodes if id(n) not in conv.used_nodes]
    if unused:
        raise conv._fail(unused[0], "is not on the path from the input to the output")
    if len(t.shape) != 1 and not t.flat:
        raise ModelFileError(f"{path}: output {last!r} has shape (batch, {t.shape}); expected (batch, classes)")
    if len(shape) == 1:
        layers = [Flatten()] + layers
        shape = (shape[0], 1, 1)
    network = Network(layers, cast("tuple[int, int, int]", shape), t.features, name or path.stem,
                      meta={"source": "onnx", "source_file": path.name, "graph": model.graph.name,
                            "producer": f"{model.producer_name} {model.producer_version}".strip()})
    return network
