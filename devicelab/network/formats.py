"""One entry point for every network file devicelab reads, and a printable layer summary.

:func:`read_network` accepts devicelab-network files (.npz/.h5), ONNX models (.onnx), plain state dicts
(.npz without the devicelab header, .safetensors, .pt/.pth) with an architecture, and shipped network names.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from devicelab.errors import ConfigError, ModelFileError
from devicelab.network.data import DATASET_INPUT_SHAPES
from devicelab.network.layers import Flatten, Layer, Residual, WeightLayer
from devicelab.network.model import NETWORK_FORMAT, Network, load_network

NETWORK_SUFFIXES = (".npz", ".h5", ".hdf5", ".onnx", ".safetensors", ".pt", ".pth")


def _is_devicelab_npz(path: Path) -> bool:
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path}: not a .npz archive (a zip of .npy arrays)")
    try:
        with np.load(path, allow_pickle=False) as data:
            return "__format__" in data.files and str(data["__format__"]) == NETWORK_FORMAT
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"{path}: not a readable .npz ({exc})") from exc


def adapt_input_shape(network: Network, input_shape) -> Network:
    """``network`` taking images of ``input_shape`` (C, H, W) instead, when that changes nothing: the network
    starts with a Flatten and the sizes agree. ConfigError otherwise."""
    shape = tuple(int(s) for s in input_shape)
    if network.input_shape == shape:
        return network
    flat_first = network.layers and isinstance(network.layers[0], Flatten)
    if not flat_first or int(np.prod(shape)) != int(np.prod(network.input_shape)):
        raise ConfigError(f"network {network.name!r} takes inputs {network.input_shape}, not {shape}")
    return Network(network.layers, shape, network.classes, network.name, network.meta)


def check_network(network: Network, where: str) -> Network:
    """Run one zero image through ``network`` so that inconsistent layer sizes fail here, naming the file."""
    try:
        out = network.forward(np.zeros((1, *network.input_shape), np.float32))
    except ValueError as exc:
        raise ModelFileError(f"{where}: the layers do not fit together: {exc}") from exc
    if out.shape != (1, network.classes):
        raise ModelFileError(f"{where}: the network gives outputs of shape {out.shape[1:]}, expected "
                             f"({network.classes},) class scores")
    return network


def read_network(source: str | os.PathLike | Network, arch: str | None = None, input_shape=None,
                 dataset: str | None = None) -> Network:
    """A Network from any supported file, a shipped name, or a Network (returned as is, reshaped if needed).

    Parameters
    ----------
    source : str, path-like or Network
        .npz/.h5 devicelab-network file, .onnx model, state dict (.npz/.safetensors/.pt/.pth, needs ``arch``)
        or a shipped network name (``resnet-hwa`` completed with ``dataset``).
    arch : str, optional
        Architecture of a plain state dict (see :func:`devicelab.network.state_dict.parse_arch`).
    input_shape : tuple of int, optional
        (C, H, W) of the input images; default: from ``dataset``, else from the file.
    dataset : str, optional
        Data set name ("digits", "fashion-mnist"): completes short shipped names and gives the image shape
        to networks that take flat inputs.
    """
    if input_shape is None and dataset in DATASET_INPUT_SHAPES:
        input_shape = DATASET_INPUT_SHAPES[dataset]
    if isinstance(source, Network):
        network, where = source, source.name
    else:
        path = Path(source)
        where = str(path)
        suffix = path.suffix.lower()
        if suffix in NETWORK_SUFFIXES and not path.exists():
            raise ModelFileError(f"{path}: network file not found")
        if suffix not in NETWORK_SUFFIXES:
            from devicelab.network.model import resolve_network

            if arch is not None:
                raise ConfigError(f"{source}: --arch applies to state dict files, and no such file exists")
            return resolve_network(str(source), dataset)
        network = _read_file(path, suffix, arch, input_shape)
    if input_shape is not None and network.input_shape != tuple(input_shape):
        network = adapt_input_shape(network, input_shape)
    return check_network(network, where)


def _read_file(path: Path, suffix: str, arch: str | None, input_shape) -> Network:
    if suffix in (".h5", ".hdf5") or (suffix == ".npz" and _is_devicelab_npz(path)):
        if arch is not None:
            raise ConfigError(f"{path}: is a devicelab-network file with its own architecture; drop --arch")
        return load_network(path)
    if suffix == ".onnx":
        if arch is not None:
            raise ConfigError(f"{path}: an ONNX file carries its own architecture; drop --arch")
        from devicelab.network.onnx_import import load_onnx

        return load_onnx(path)
    from devicelab.network.state_dict import load_state_dict, read_state_dict

    if arch is None:
        keys = list(read_state_dict(path))
        listed = ", ".join(keys[:6]) + (" ..." if len(keys) > 6 else "") if keys else "empty"
        raise ModelFileError(f"{path}: a plain state dict ({listed}) has no "
                             "architecture; give one, e.g. --arch mlp:784,256,128,10, --arch resnet or "
                             "--arch arch.toml")
    return load_state_dict(path, arch, input_shape)


# ---------------------------------------------------------------------- summary
def _shape(x: np.ndarray) -> tuple[int, ...]:
    """Per-sample shape in PyTorch's order: (C, H, W) for NHWC activations, (F,) for flat ones."""
    return (x.shape[3], x.shape[1], x.shape[2]) if x.ndim == 4 else tuple(x.shape[1:])


def _trace(layers: list[Layer], x: np.ndarray, depth: int, rows: list[dict]) -> np.ndarray:
    for layer in layers:
        spec = {k: v for k, v in layer.spec().items() if k not in ("type", "name", "body", "shortcut")}
        row = {"depth": depth, "kind": layer.kind, "name": layer.name, "spec": spec}
        if isinstance(layer, Residual):
            rows.append(row)
            for part, sub in (("body", layer.body), ("shortcut", layer.shortcut)):
                rows.append({"depth": depth + 1, "kind": part if sub else "identity shortcut", "name": ""})
                _trace(sub, x, depth + 2, rows)
            x = layer.forward(x)
            rows.append({"depth": depth + 1, "kind": "add + relu", "name": "", "output_shape": _shape(x)})
            continue
        x = layer.forward(x)
        row.update(output_shape=_shape(x), parameters=int(sum(a.size for a in layer.arrays().values())))
        if isinstance(layer, WeightLayer):
            row["matrix"] = tuple(int(n) for n in layer.matrix.shape)
        rows.append(row)
    return x


def network_summary(network: Network) -> dict:
    """JSON-able summary of ``network``: name, input shape (C, H, W), classes, parameter counts (all, on tiles)
    and one row per layer (depth in residual blocks, kind, name, settings, per-sample output shape,
    parameters and, for weight layers, the (rows, cols) matrix mapped onto crossbar tiles)."""
    rows: list[dict] = []
    x = np.ascontiguousarray(np.zeros((1, *network.input_shape), np.float32).transpose(0, 2, 3, 1))
    _trace(network.layers, x, 0, rows)
    weights = network.weight_layers()
    return {"name": network.name, "input_shape": network.input_shape, "classes": network.classes,
            "parameters": network.n_parameters(), "tile_parameters": int(sum(l.matrix.size for l in weights)),
            "weight_layers": len(weights), "source": network.meta.get("source", "devicelab"),
            "source_file": network.meta.get("source_file"), "layers": rows}


def _row_text(row: dict) -> str:
    if row["kind"] in ("body", "shortcut"):
        return "  " * row["depth"] + f"{row['kind']}:"
    details = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.get("spec", {}).items())
    text = f"{row['kind']} {row['name']}".strip() + (f" ({details})" if details else "")
    return "  " * row["depth"] + text


def describe_network(network: Network) -> str:
    """Text table of :func:`network_summary`: each layer with its output shape (C, H, W) or (F,), its parameter
    count and, for weight layers, the (rows x cols) matrix mapped onto crossbar tiles; then the totals."""
    summary = network_summary(network)
    texts = [_row_text(r) for r in summary["layers"]]
    width = max([len("layer")] + [len(t) for t in texts])
    lines = [f"network {summary['name']!r}: input {summary['input_shape']}, {summary['classes']} classes",
             f"{'layer':<{width}}  {'output':>14}  {'params':>9}  tile matrix"]
    for text, row in zip(texts, summary["layers"]):
        shape = row.get("output_shape")
        shape_text = "" if shape is None else (f"({shape[0]},)" if len(shape) == 1 else str(tuple(shape)))
        n = str(row["parameters"]) if row.get("parameters") else ""
        matrix = "x".join(str(v) for v in row["matrix"]) if "matrix" in row else ""
        lines.append(f"{text:<{width}}  {shape_text:>14}  {n:>9}  {matrix}".rstrip())
    total, analog = summary["parameters"], summary["tile_parameters"]
    lines.append(f"parameters: {total} ({analog} in {summary['weight_layers']} weight layers on tiles, "
                 f"{total - analog} digital)")
    if summary["source_file"]:
        lines.append(f"imported from: {summary['source']} {summary['source_file']}")
    return "\n".join(lines)
