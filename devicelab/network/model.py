"""Networks: a list of layers with an input shape, the reference architectures, and weight files.

Weight file format ("devicelab-network", version 1), as .npz (read with ``allow_pickle=False``) or HDF5:

- ``.npz``: array ``__format__`` = "devicelab-network", ``__format_version__`` = 1, ``__spec__`` = JSON text
  (0-d unicode array) and one float32 array per parameter, named ``<layer>.<param>``;
- ``.h5``: the standard devicelab header (``format``, ``format_version``, ``created_by``, ``provenance``),
  root attribute ``spec`` (the same JSON) and one dataset per parameter (``units`` = "1").

The JSON spec is ``{"name", "input_shape": [C, H, W], "classes", "layers": [layer specs], "meta": {...}}``;
layer specs are those of :mod:`devicelab.network.layers` (``{"type": "conv2d", "name": "stem", "in": 1,
"out": 16, "kernel": 3, "stride": 1, "padding": 1, "bias": false}`` and so on). Parameters use PyTorch's
layouts: Linear weight (out, in), Conv2d weight (out, in, kh, kw), BatchNorm gamma/beta/mean/var.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

import numpy as np

from devicelab.errors import ConfigError, ModelFileError
from devicelab.files import atomic_output, check_header, write_dataset, write_header
from devicelab.network.layers import (
    MVM,
    BatchNorm,
    Conv2d,
    Flatten,
    GlobalAvgPool,
    Layer,
    Linear,
    ReLU,
    Residual,
    WeightLayer,
    float_mvm,
    layer_from_spec,
    run_layers,
)

NETWORK_FORMAT = "devicelab-network"
NETWORK_FORMAT_VERSION = 1
ARCHITECTURES = ("mlp", "resnet")


class Network:
    """A feed-forward network: ``layers`` applied to (N, C, H, W) float32 images -> (N, classes) logits.

    ``meta`` holds free provenance (training recipe, accuracy) that is saved with the weights.
    """

    def __init__(self, layers: list[Layer], input_shape: tuple[int, int, int], classes: int,
                 name: str = "network", meta: dict | None = None):
        self.layers = list(layers)
        self.input_shape = tuple(int(s) for s in input_shape)
        self.classes = int(classes)
        self.name = name
        self.meta = dict(meta or {})
        names = [l.name for l in self.all_layers() if l.name]
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise ConfigError(f"network {name!r}: duplicate layer names {sorted(duplicates)}")

    def all_layers(self) -> list[Layer]:
        """Every layer, containers and their content, depth first."""
        return [s for layer in self.layers for s in layer.sublayers()]

    def weight_layers(self) -> list[WeightLayer]:
        """The Linear and Conv2d layers (those mapped to crossbar tiles), in execution order."""
        return [l for l in self.all_layers() if isinstance(l, WeightLayer)]

    def batchnorm_layers(self) -> list[BatchNorm]:
        """The BatchNorm layers, in execution order."""
        return [l for l in self.all_layers() if isinstance(l, BatchNorm)]

    def forward(self, x: np.ndarray, mvm: MVM = float_mvm) -> np.ndarray:
        """Logits (N, classes) for images ``x`` of shape (N, C, H, W); ``mvm`` runs the weight products."""
        x = np.asarray(x, dtype=np.float32)
        if x.shape[1:] != self.input_shape:
            raise ValueError(f"network {self.name!r} expects inputs (N, {self.input_shape}), got {x.shape}")
        return run_layers(self.layers, np.ascontiguousarray(x.transpose(0, 2, 3, 1)), mvm)

    def logits(self, x: np.ndarray, mvm: MVM = float_mvm, batch_size: int = 500) -> np.ndarray:
        """Logits (N, classes) for images ``x``, computed in batches of ``batch_size``."""
        return np.concatenate([self.forward(x[i:i + batch_size], mvm) for i in range(0, len(x), batch_size)])

    def predict(self, x: np.ndarray, mvm: MVM = float_mvm, batch_size: int = 500) -> np.ndarray:
        """Predicted class indices for ``x``, computed in batches of ``batch_size``."""
        return np.concatenate([self.forward(x[i:i + batch_size], mvm).argmax(axis=1)
                               for i in range(0, len(x), batch_size)])

    def accuracy(self, x: np.ndarray, y: np.ndarray, mvm: MVM = float_mvm, batch_size: int = 500) -> float:
        """Fraction of ``x`` classified as ``y``."""
        return float(np.mean(self.predict(x, mvm, batch_size) == y))

    def n_parameters(self) -> int:
        """Number of stored parameters."""
        return int(sum(a.size for l in self.layers for a in l.arrays().values()))

    # ------------------------------------------------------------------ serialization
    def spec(self) -> dict:
        """JSON-able architecture description (see module docstring)."""
        return {"name": self.name, "input_shape": list(self.input_shape), "classes": self.classes,
                "layers": [l.spec() for l in self.layers], "meta": self.meta}

    def arrays(self) -> dict[str, np.ndarray]:
        """Every parameter array by name."""
        out: dict[str, np.ndarray] = {}
        for layer in self.layers:
            out.update(layer.arrays())
        return out

    @classmethod
    def from_spec(cls, spec: dict, arrays: dict[str, np.ndarray], where: str = "weights") -> "Network":
        """Rebuild a network from :meth:`spec` and :meth:`arrays`."""
        try:
            layers = [layer_from_spec(s, arrays, where) for s in spec["layers"]]
            return cls(layers, tuple(spec["input_shape"]), spec["classes"], spec.get("name", "network"),
                       spec.get("meta", {}))
        except (KeyError, TypeError) as exc:
            raise ModelFileError(f"{where}: network spec lacks or mistypes field {exc}") from exc


def save_network(network: Network, path: str | os.PathLike, provenance: dict | None = None) -> Path:
    """Write ``network`` to ``path`` (.npz or .h5, see module docstring) atomically; return the path."""
    path = Path(path)
    spec_text = json.dumps(network.spec(), sort_keys=True)
    arrays = network.arrays()
    if path.suffix == ".npz":
        with atomic_output(path, suffix=".npz") as tmp:
            with open(tmp, "wb") as fh:
                np.savez_compressed(fh, __format__=np.array(NETWORK_FORMAT),
                                    __format_version__=np.array(NETWORK_FORMAT_VERSION),
                                    __spec__=np.array(spec_text), **arrays)
    elif path.suffix in (".h5", ".hdf5"):
        import h5py

        with atomic_output(path, suffix=".h5") as tmp:
            with h5py.File(tmp, "w") as fh:
                write_header(fh, NETWORK_FORMAT, NETWORK_FORMAT_VERSION, provenance or {})
                fh.attrs["spec"] = spec_text
                for key, value in arrays.items():
                    write_dataset(fh, key, value, units="1")
    else:
        raise ConfigError(f"{path}: network files end in .npz or .h5")
    return path


def load_network(path: str | os.PathLike) -> Network:
    """Read a network written by :func:`save_network` (never unpickles); ModelFileError on bad files."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: network file not found")
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as data:
                found = str(data["__format__"]) if "__format__" in data else None
                if found != NETWORK_FORMAT:
                    raise ModelFileError(f"{path}: expected a '{NETWORK_FORMAT}' .npz, found format {found!r}")
                version = int(data["__format_version__"])
                if version != NETWORK_FORMAT_VERSION:
                    raise ModelFileError(f"{path}: '{NETWORK_FORMAT}' format_version {version} is not supported "
                                         f"(this devicelab reads version {NETWORK_FORMAT_VERSION})")
                spec_text = str(data["__spec__"])
                arrays = {k: data[k] for k in data.files if not k.startswith("__")}
        except (OSError, ValueError, KeyError) as exc:
            raise ModelFileError(f"{path}: not a readable devicelab network .npz ({exc})") from exc
    elif path.suffix in (".h5", ".hdf5"):
        import h5py

        try:
            with h5py.File(path, "r") as fh:
                check_header(fh, path, NETWORK_FORMAT, (NETWORK_FORMAT_VERSION,))
                spec_text = fh.attrs["spec"]
                arrays = {k: fh[k][()] for k in fh.keys()}
        except (OSError, KeyError) as exc:
            raise ModelFileError(f"{path}: not a readable devicelab network HDF5 file ({exc})") from exc
    else:
        raise ModelFileError(f"{path}: network files end in .npz or .h5")
    try:
        spec = json.loads(spec_text)
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{path}: architecture spec is not valid JSON ({exc})") from exc
    for key, value in arrays.items():
        if not np.all(np.isfinite(value)):
            raise ModelFileError(f"{path}: array {key!r} has non-finite values")
    return Network.from_spec(spec, arrays, where=str(path))


# ---------------------------------------------------------------------- reference architectures
def _init(rng, shape, fan_in):
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)


def _conv(name, rng, c_in, c_out, k, stride=1, padding=None):
    padding = k // 2 if padding is None else padding
    return Conv2d(name, _init(rng, (c_out, c_in, k, k), c_in * k * k), None, stride, padding)


def _bn(name, c):
    one, zero = np.ones(c, np.float32), np.zeros(c, np.float32)
    return BatchNorm(name, one, zero, zero, one)


def mlp(input_shape=(1, 28, 28), classes: int = 10, hidden=(256, 128), rng=None) -> Network:
    """Multilayer perceptron Flatten -> [Linear -> ReLU] x len(hidden) -> Linear, He-initialized."""
    rng = rng or np.random.default_rng(0)
    sizes = [int(np.prod(input_shape))] + list(hidden) + [classes]
    layers: list[Layer] = [Flatten()]
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Linear(f"fc{i + 1}", _init(rng, (n_out, n_in), n_in), np.zeros(n_out, np.float32)))
        if i < len(sizes) - 2:
            layers.append(ReLU())
    return Network(layers, input_shape, classes, name="mlp")


def resnet(input_shape=(1, 28, 28), classes: int = 10, widths=(16, 32, 64), rng=None) -> Network:
    """Small ResNet: conv3x3 stem (+BN, ReLU; stride 2 for inputs >= 16 px), one basic residual block
    per width (stride 2 after the first, 1x1 conv + BN projection shortcut when the shape changes),
    global average pooling and a Linear classifier.
    """
    rng = rng or np.random.default_rng(0)
    c_in = input_shape[0]
    stem_stride = 2 if min(input_shape[1:]) >= 16 else 1
    layers: list[Layer] = [_conv("stem", rng, c_in, widths[0], 3, stem_stride), _bn("stem_bn", widths[0]), ReLU()]
    c = widths[0]
    for i, w in enumerate(widths):
        stride = 1 if i == 0 else 2
        name = f"block{i + 1}"
        body = [_conv(f"{name}_conv1", rng, c, w, 3, stride), _bn(f"{name}_bn1", w), ReLU(),
                _conv(f"{name}_conv2", rng, w, w, 3), _bn(f"{name}_bn2", w)]
        shortcut = []
        if stride != 1 or c != w:
            shortcut = [_conv(f"{name}_proj", rng, c, w, 1, stride, 0), _bn(f"{name}_proj_bn", w)]
        layers.append(Residual(name, body, shortcut))
        c = w
    layers += [GlobalAvgPool(), Linear("fc", _init(rng, (classes, c), c), np.zeros(classes, np.float32))]
    return Network(layers, input_shape, classes, name="resnet")


def build_network(arch: str, input_shape, classes: int = 10, rng=None) -> Network:
    """An untrained reference network by architecture name (one of :data:`ARCHITECTURES`)."""
    if arch == "mlp":
        hidden = (256, 128) if int(np.prod(input_shape)) > 256 else (64,)
        return mlp(input_shape, classes, hidden, rng)
    if arch == "resnet":
        return resnet(input_shape, classes, rng=rng)
    raise ConfigError(f"unknown architecture {arch!r}; expected one of {ARCHITECTURES}")


# ---------------------------------------------------------------------- shipped weights
def shipped_networks() -> list[str]:
    """Names of the trained networks shipped in devicelab/data (``<arch>-<dataset>-<float|hwa>``)."""
    folder = resources.files("devicelab") / "data"
    return sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".npz"))


def resolve_network(name_or_path: "str | os.PathLike | Network", dataset: str | None = None,
                    arch: str | None = None) -> Network:
    """Load a network from a file, a shipped name (``resnet-fashion-mnist-hwa``) or a short shipped
    name completed with ``dataset`` (``resnet-hwa`` + "fashion-mnist"); a Network is passed through.

    Files are read by :func:`devicelab.network.formats.read_network`: devicelab-network .npz/.h5, ONNX
    (.onnx) and plain state dicts (.npz, .safetensors, .pt/.pth) with ``arch`` (e.g. "mlp:784,256,10").
    A network that takes flat inputs is given ``dataset``'s image shape."""
    if isinstance(name_or_path, Network) or Path(name_or_path).suffix.lower() in (
            ".npz", ".h5", ".hdf5", ".onnx", ".safetensors", ".pt", ".pth"):
        from devicelab.network.formats import read_network

        return read_network(name_or_path, arch, dataset=dataset)
    shipped = shipped_networks()
    candidates = [name_or_path]
    if dataset:
        arch, _, variant = name_or_path.partition("-")
        candidates.append(f"{arch}-{dataset}-{variant or 'hwa'}")
    for name in candidates:
        if name in shipped:
            with resources.as_file(resources.files("devicelab") / "data" / f"{name}.npz") as p:
                return load_network(p)
    raise ConfigError(f"network {name_or_path!r} is neither a .npz/.h5 file nor a shipped network (other files: "
                      f".onnx, state dicts .npz/.safetensors/.pt/.pth with --arch; "
                      f"shipped: {', '.join(shipped) or 'none'})")
