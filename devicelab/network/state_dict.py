"""Plain state dicts (parameter name -> array) plus an architecture -> :class:`~devicelab.network.model.Network`.

Weights: ``.npz`` (read with ``allow_pickle=False``), ``.safetensors`` (``safetensors`` extra) or ``.pt``/``.pth``
(``torch`` extra, read with ``torch.load(weights_only=True)``: a dict of tensors, or such a dict under
``"state_dict"``). A common ``module.`` prefix (DataParallel) is removed.

Architecture (:func:`parse_arch`), one of:

- ``mlp:784,256,128,10`` -- Flatten, then Linear layers ``fc1`` ... ``fcN`` with bias and ReLU between; the first
  entry may be an image shape ``1x28x28``; ``mlp`` alone reads the sizes from ``fc<i>.weight``;
- ``resnet`` or ``resnet:16,32,64`` -- devicelab's small ResNet (:func:`~devicelab.network.model.resnet`) with
  these widths; input channels and classes come from the weights, the image size from ``input_shape``;
- a shipped network's name (``resnet-fashion-mnist-hwa``): its exact architecture;
- a ``.toml`` file: ``name``, ``input_shape = [C, H, W]``, optional ``classes``, and either ``arch = "mlp:..."``
  or ``[[layers]]`` tables holding devicelab layer specs (the JSON of a devicelab-network file, see
  :mod:`devicelab.network.model`), e.g. ``{type = "linear", name = "fc1", in = 784, out = 256, bias = true}``.

Parameter names are devicelab's (``fc1.weight``, ``block1_conv1.weight``, ``stem_bn.mean``), those of the
PyTorch module :func:`~devicelab.network.torch_io.to_torch` builds for the same architecture (``1.weight``,
``3.body.0.weight``, ``0.running_mean``), or those of the same ``nn.Sequential`` without its leading Flatten
(``0.weight``, ``2.weight``); any other names are mapped per layer with a ``[rename]`` table in the TOML
(``fc1 = "encoder.0"``: ``encoder.0.weight`` and ``encoder.0.bias``). A missing or extra parameter, or a wrong
shape, is an error naming the tensor and the expected shape.
"""

from __future__ import annotations

import os
import pickle
import tomllib
import zipfile
from pathlib import Path
from typing import cast

import numpy as np

from devicelab.errors import ConfigError, DevicelabError, ModelFileError, require
from devicelab.network.model import Network, resnet, resolve_network, shipped_networks

STATE_DICT_SUFFIXES = (".npz", ".safetensors", ".pt", ".pth")
_TORCH_BN = {"gamma": "weight", "beta": "bias", "mean": "running_mean", "var": "running_var"}
_IGNORED = ("num_batches_tracked",)


# ---------------------------------------------------------------------- reading weights
def read_state_dict(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Parameter arrays of a ``.npz``, ``.safetensors`` or ``.pt``/``.pth`` state dict (never unpickles).

    Raises
    ------
    ModelFileError
        Missing or unreadable file, non-array entries, non-finite values.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: weights file not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npz":
            if not zipfile.is_zipfile(path):
                raise ModelFileError(f"{path}: not a .npz archive (a zip of .npy arrays)")
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: np.asarray(data[k]) for k in data.files}
        elif suffix == ".safetensors":
            st = require("safetensors.numpy", "reading .safetensors weights", "safetensors")
            arrays = dict(st.load_file(str(path)))
        elif suffix in (".pt", ".pth"):
            arrays = _read_torch(path)
        else:
            raise ModelFileError(f"{path}: state dicts end in {', '.join(STATE_DICT_SUFFIXES)}")
    except DevicelabError:  # ours already say what is wrong (missing extra, wrong suffix, not a dict)
        raise
    except Exception as exc:  # numpy, safetensors and torch raise many types on corrupt files
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ModelFileError(f"{path}: not a readable state dict ({type(exc).__name__}: {first_line})") from exc
    keys = list(arrays)
    if keys and all(k.startswith("module.") for k in keys):
        arrays = {k[len("module."):]: v for k, v in arrays.items()}
    for key, value in arrays.items():
        if value.dtype.kind not in "fiu":
            raise ModelFileError(f"{path}: tensor {key!r} has dtype {value.dtype}, expected numbers")
        if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
            raise ModelFileError(f"{path}: tensor {key!r} has non-finite values")
    return arrays


def _read_torch(path: Path) -> dict[str, np.ndarray]:
    torch = require("torch", "reading .pt state dicts", "torch")
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ModelFileError(f"{path}: not a plain state dict of tensors (devicelab reads .pt files with "
                             "torch.load(weights_only=True) and never unpickles other objects; save "
                             "model.state_dict())") from exc
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise ModelFileError(f"{path}: expected a state dict (name -> tensor), found {type(obj).__name__}; "
                             "save model.state_dict(), not the model")
    out = {}
    for key, value in obj.items():
        if not isinstance(value, torch.Tensor):
            raise ModelFileError(f"{path}: entry {key!r} is a {type(value).__name__}, not a tensor")
        out[str(key)] = value.detach().cpu().float().numpy() if value.is_floating_point() else value.cpu().numpy()
    return out


# ---------------------------------------------------------------------- architectures
def _ints(text: str, what: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"architecture {what!r}: expected comma-separated integers") from None
    if not values or any(v < 1 for v in values):
        raise ConfigError(f"architecture {what!r}: expected positive integers")
    return values


def _mlp_spec(sizes: list[int], input_shape: tuple[int, int, int]) -> dict:
    layers: list[dict] = [{"type": "flatten"}]
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append({"type": "linear", "name": f"fc{i + 1}", "in": n_in, "out": n_out, "bias": True})
        if i < len(sizes) - 2:
            layers.append({"type": "relu"})
    return {"name": "mlp", "input_shape": list(input_shape), "classes": sizes[-1], "layers": layers}


def _mlp_sizes_from(arrays: dict[str, np.ndarray], where: str) -> list[int]:
    sizes: list[int] = []
    i = 1
    while f"fc{i}.weight" in arrays:
        w = arrays[f"fc{i}.weight"]
        if w.ndim != 2:
            raise ModelFileError(f"{where}: fc{i}.weight has shape {w.shape}, expected 2-D (out, in)")
        sizes = sizes or [w.shape[1]]
        sizes.append(w.shape[0])
        i += 1
    if not sizes:
        raise ConfigError(f"{where}: 'mlp' without sizes needs parameters fc1.weight, fc2.weight, ...; "
                          "give the sizes instead, e.g. --arch mlp:784,256,128,10")
    return sizes


def parse_arch(arch: str, input_shape=None, arrays: dict[str, np.ndarray] | None = None,
               where: str = "weights") -> dict:
    """Network spec (the JSON of a devicelab-network file) for an architecture string or TOML file.

    Parameters
    ----------
    arch : str
        ``mlp:784,256,128,10``, ``mlp``, ``resnet``, ``resnet:16,32,64``, a shipped network name or a ``.toml``
        path (module docstring).
    input_shape : tuple of int, optional
        (C, H, W) of the images; needed by ``resnet``, optional for ``mlp`` (default (F, 1, 1)).
    arrays : dict, optional
        The state dict, used to infer sizes left out of ``arch`` (input channels, classes, ``mlp`` sizes).
    where : str
        File name for error messages.
    """
    arrays = arrays or {}
    if arch.endswith(".toml"):
        return _toml_spec(Path(arch), input_shape, arrays, where)
    if arch in shipped_networks():  # the architecture of a shipped network, e.g. "resnet-digits-hwa"
        spec = resolve_network(arch).spec()
        spec.pop("meta", None)
        return spec
    kind, _, args = arch.partition(":")
    if kind == "mlp":
        if not args:
            sizes = _mlp_sizes_from(arrays, where)
        else:
            first, _, rest = args.partition(",")
            if "x" in first:
                shape = tuple(_ints(first.replace("x", ","), arch))
                if len(shape) != 3:
                    raise ConfigError(f"architecture {arch!r}: image shape must be CxHxW")
                input_shape = input_shape or shape
                sizes = [int(np.prod(shape))] + _ints(rest, arch)
            else:
                sizes = _ints(args, arch)
        if len(sizes) < 2:
            raise ConfigError(f"architecture {arch!r}: an MLP needs at least input and output sizes")
        shape = tuple(input_shape) if input_shape else (sizes[0], 1, 1)
        if int(np.prod(shape)) != sizes[0]:
            raise ConfigError(f"architecture {arch!r}: input size {sizes[0]} does not match images {shape}")
        return _mlp_spec(sizes, cast("tuple[int, int, int]", shape))
    if kind == "resnet":
        widths = tuple(_ints(args, arch)) if args else (16, 32, 64)
        if input_shape is None:
            raise ConfigError(f"architecture {arch!r} needs the image shape (C, H, W): give --input-shape or "
                              "--dataset")
        channels, classes = input_shape[0], 10
        if "stem.weight" in arrays and arrays["stem.weight"].ndim == 4:
            channels = int(arrays["stem.weight"].shape[1])
        if "fc.weight" in arrays and arrays["fc.weight"].ndim == 2:
            classes = int(arrays["fc.weight"].shape[0])
        if channels != input_shape[0]:
            raise ModelFileError(f"{where}: stem.weight takes {channels} input channels, images have "
                                 f"{input_shape[0]}")
        return resnet(tuple(input_shape), classes, widths).spec()
    raise ConfigError(f"unknown architecture {arch!r}; expected mlp:N0,N1,...,Nk, mlp, resnet[:W1,W2,...], "
                      f"a shipped network ({', '.join(shipped_networks())}) or a .toml file")


def _toml_spec(path: Path, input_shape, arrays, where) -> dict:
    if not path.is_file():
        raise ConfigError(f"{path}: architecture file not found")
    try:
        doc = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    unknown = set(doc) - {"name", "input_shape", "classes", "arch", "layers", "rename"}
    if unknown:
        raise ConfigError(f"{path}: unknown keys {sorted(unknown)} (expected name, input_shape, classes, "
                          "arch or [[layers]], [rename])")
    rename = doc.get("rename", {})
    if not isinstance(rename, dict) or not all(isinstance(v, str) for v in rename.values()):
        raise ConfigError(f"{path}: [rename] maps devicelab layer names to prefixes in the weights file, "
                          "e.g. fc1 = \"encoder.0\"")
    shape = doc.get("input_shape", input_shape)
    if shape is not None and (len(shape) != 3 or not all(isinstance(s, int) and s > 0 for s in shape)):
        raise ConfigError(f"{path}: input_shape must be [C, H, W] positive integers, got {shape}")
    if ("arch" in doc) == ("layers" in doc):
        raise ConfigError(f"{path}: give exactly one of arch = \"...\" or [[layers]]")
    if "arch" in doc:
        spec = parse_arch(str(doc["arch"]), shape, arrays, where)
    else:
        if shape is None:
            raise ConfigError(f"{path}: [[layers]] needs input_shape = [C, H, W]")
        spec = {"input_shape": list(shape), "layers": doc["layers"]}
        spec["classes"] = doc.get("classes") or _last_out(doc["layers"], path)
    spec["name"] = doc.get("name", spec.get("name", path.stem))
    if "classes" in doc:
        spec["classes"] = int(doc["classes"])
    if rename:
        layer_names = {n.rsplit(".", 1)[0] for n in expected_parameters(spec)}
        unknown_layers = sorted(set(rename) - layer_names)
        if unknown_layers:
            raise ConfigError(f"{path}: [rename] names layers {unknown_layers} that the architecture does not "
                              f"have (its weight layers: {sorted(layer_names)})")
        spec["rename"] = dict(rename)
    return spec


def _last_out(layers: list[dict], path) -> int:
    for layer in reversed(layers):
        if layer.get("type") == "linear" and "out" in layer:
            return int(layer["out"])
    raise ConfigError(f"{path}: cannot infer classes (no final linear layer); set classes = N")


# ---------------------------------------------------------------------- matching names and shapes
def expected_parameters(spec: dict, flatten_dropped: bool = False) -> dict[str, tuple[str, tuple[int, ...]]]:
    """devicelab parameter name -> (PyTorch ``to_torch`` name, expected shape) for a network spec.

    ``flatten_dropped`` numbers the top-level modules as if a leading Flatten were not a module (an
    ``nn.Sequential`` of Linear/ReLU fed flat inputs).
    """
    out: dict[str, tuple[str, tuple[int, ...]]] = {}

    def visit(layers: list[dict], prefix: str, offset: int = 0):
        for i, s in enumerate(layers):
            kind, name, torch_name = s.get("type"), s.get("name"), f"{prefix}{i - offset}"
            try:
                if kind == "linear":
                    out[f"{name}.weight"] = (f"{torch_name}.weight", (s["out"], s["in"]))
                elif kind == "conv2d":
                    out[f"{name}.weight"] = (f"{torch_name}.weight", (s["out"], s["in"], s["kernel"], s["kernel"]))
                elif kind == "batchnorm":
                    for p, tp in _TORCH_BN.items():
                        out[f"{name}.{p}"] = (f"{torch_name}.{tp}", (s["channels"],))
                elif kind == "residual":
                    visit(s.get("body", []), f"{torch_name}.body.")
                    visit(s.get("shortcut", []), f"{torch_name}.shortcut.")
                if kind in ("linear", "conv2d") and s.get("bias", False):
                    out[f"{name}.bias"] = (f"{torch_name}.bias", (s["out"],))
            except KeyError as exc:
                raise ConfigError(f"layer spec {s!r} lacks field {exc}") from exc

    layers = spec.get("layers", [])
    visit(layers, "", offset=int(flatten_dropped and bool(layers) and layers[0].get("type") == "flatten"))
    return out


def naming_schemes(spec: dict, rename: dict[str, str] | None = None) -> dict[str, dict[str, tuple[str, tuple]]]:
    """The parameter naming schemes a state dict may use: scheme -> {devicelab name: (name in file, shape)}.

    Without ``rename``: devicelab's names, the names of :func:`~devicelab.network.torch_io.to_torch`'s module,
    and those of the same ``nn.Sequential`` without a leading Flatten. With ``rename`` (devicelab layer name ->
    prefix in the file, e.g. ``{"fc1": "encoder.0"}``): renamed layers use that prefix and PyTorch parameter
    names (``weight``, ``bias``, ``running_mean``, ``running_var``), the others devicelab's names.
    """
    torch_names = expected_parameters(spec)
    if rename:
        scheme = {}
        for name, (_, shape) in torch_names.items():
            layer, param = name.rsplit(".", 1)
            scheme[name] = (f"{rename[layer]}.{_TORCH_BN.get(param, param)}" if layer in rename else name, shape)
        return {"rename": scheme}
    schemes = {"devicelab": {n: (n, shape) for n, (_, shape) in torch_names.items()}, "PyTorch": torch_names}
    shifted = expected_parameters(spec, flatten_dropped=True)
    if shifted != torch_names:
        schemes["PyTorch without the leading Flatten"] = shifted
    return schemes


def match_parameters(spec: dict, arrays: dict[str, np.ndarray], where: str = "weights",
                     rename: dict[str, str] | None = None) -> dict[str, np.ndarray]:
    """Arrays renamed to devicelab's parameter names, checked against ``spec``.

    The naming scheme (:func:`naming_schemes`) is the one that finds the most parameters of the file; then
    every parameter must be there with the expected shape and none may be left over.

    Raises
    ------
    ModelFileError
        A parameter missing (named with its expected shape), an unexpected one, or a wrong shape.
    """
    arrays = {k: v for k, v in arrays.items() if k.rsplit(".", 1)[-1] not in _IGNORED}
    schemes = naming_schemes(spec, rename)
    scheme_name = max(schemes, key=lambda n: sum(key in arrays for key, _ in schemes[n].values()))
    scheme = schemes[scheme_name]
    naming = "" if scheme_name == "devicelab" else f", {scheme_name} naming"
    out = {}
    for name, (key, shape) in scheme.items():
        if key not in arrays:
            alias = f", devicelab name {name!r}" if key != name else ""
            raise ModelFileError(f"{where}: parameter {key!r} is missing (expected shape {shape}{alias}{naming}); "
                                 f"the file has {_preview(arrays)}")
        if tuple(arrays[key].shape) != tuple(shape):
            raise ModelFileError(f"{where}: parameter {key!r} has shape {tuple(arrays[key].shape)}, "
                                 f"expected {tuple(shape)}")
        out[name] = arrays[key]
    extra = sorted(set(arrays) - {key for key, _ in scheme.values()})
    if extra:
        raise ModelFileError(f"{where}: parameters {extra[:5]}{' ...' if len(extra) > 5 else ''} are not used by "
                             f"the architecture{naming}; check --arch (or map names with [rename] in an arch TOML)")
    return out


def _preview(arrays) -> str:
    items = [f"{k} {tuple(v.shape)}" for k, v in list(arrays.items())[:8]]
    return ", ".join(items) + (" ..." if len(arrays) > 8 else "") if items else "no tensors"


def network_from_state_dict(arrays: dict[str, np.ndarray], arch: str | dict, input_shape=None,
                            where: str = "weights", name: str | None = None) -> Network:
    """A Network from a state dict and an architecture (string, TOML path or spec dict).

    Parameters
    ----------
    arrays : dict of str to ndarray
        Parameters with devicelab or PyTorch (``to_torch``) names.
    arch : str or dict
        See :func:`parse_arch`; a dict is a ready network spec.
    input_shape : tuple of int, optional
        (C, H, W) of the input images.
    where : str
        File name for error messages.
    name : str, optional
        Network name (default: the architecture's).
    """
    spec = dict(arch) if isinstance(arch, dict) else parse_arch(arch, input_shape, arrays, where)
    params = match_parameters(spec, arrays, where, spec.pop("rename", None))
    if name:
        spec["name"] = name
    return Network.from_spec(spec, params, where)


def load_state_dict(path: str | os.PathLike, arch: str, input_shape=None) -> Network:
    """Read a state dict file (:func:`read_state_dict`) and build ``arch`` with it (named after the file)."""
    path = Path(path)
    return network_from_state_dict(read_state_dict(path), arch, input_shape, str(path), name=path.stem)
