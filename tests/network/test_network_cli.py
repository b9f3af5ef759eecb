"""`devicelab network show` and `devicelab evaluate --network` for every network format devicelab reads."""

import json
import re
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

from devicelab.cli import cli
from devicelab.network import resolve_network


@pytest.fixture(scope="module")
def network_files(tmp_path_factory):
    """The shipped digits MLP in each format: devicelab .npz and .h5, plain .npz, .safetensors, .pt, .onnx."""
    folder = tmp_path_factory.mktemp("nets")
    net = resolve_network("mlp-digits-hwa")
    from devicelab.network import save_network

    files = {"devicelab-npz": (save_network(net, folder / "dl.npz"), []),
             "devicelab-h5": (save_network(net, folder / "dl.h5"), []),
             "plain-npz": (folder / "plain.npz", ["--arch", "mlp"])}
    np.savez(folder / "plain.npz", **net.arrays())
    st = pytest.importorskip("safetensors.numpy")
    st.save_file(net.arrays(), str(folder / "w.safetensors"))
    files["safetensors"] = (folder / "w.safetensors", ["--arch", "mlp:1x8x8,64,10"])
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from devicelab.network.torch_io import to_torch

    module = to_torch(net).eval()
    torch.save(module.state_dict(), folder / "w.pt")
    files["torch-pt"] = (folder / "w.pt", ["--arch", "mlp:64,64,10"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy TorchScript exporter announces its deprecation
        torch.onnx.export(module, (torch.zeros(1, 1, 8, 8),), str(folder / "w.onnx"), dynamo=False,
                          input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "n"}, "y": {0: "n"}})
    files["onnx"] = (folder / "w.onnx", [])
    return net, files


FORMATS = ["devicelab-npz", "devicelab-h5", "plain-npz", "safetensors", "torch-pt", "onnx"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_network_show_lists_layers_and_the_parameter_count(network_files, fmt):
    net, files = network_files
    path, extra = files[fmt]
    result = CliRunner().invoke(cli, ["network", "show", str(path), "--dataset", "digits", *extra])
    assert result.exit_code == 0, result.output
    assert f"parameters: {net.n_parameters()} " in result.output
    assert len(re.findall(r"^linear ", result.output, re.MULTILINE)) == len(net.weight_layers())
    assert "input (1, 8, 8)" in result.output


@pytest.mark.parametrize("fmt", ["plain-npz", "onnx"])
def test_evaluate_runs_on_imported_networks(network_files, tmp_path, fmt):
    net, files = network_files
    path, extra = files[fmt]
    result = CliRunner().invoke(cli, ["evaluate", "--network", str(path), *extra, "--dataset", "digits",
                                      "--preset", "joshi2020", "--times", "1", "--repeats", "1", "--test-limit",
                                      "100", "--no-progress", "--json", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["float_accuracy"] == net.accuracy(*_digits(100))


def _digits(n):
    from devicelab.network import load_dataset

    test = load_dataset("digits", "test").subset(n)
    return test.x, test.y


def test_evaluate_plain_state_dict_without_arch_fails_in_one_line(network_files, tmp_path):
    _, files = network_files
    result = CliRunner().invoke(cli, ["evaluate", "--network", str(files["plain-npz"][0]), "--dataset", "digits",
                                      "--preset", "joshi2020", "--no-progress", "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert "plain state dict" in result.output and "--arch" in result.output


def test_network_show_wrong_shape_names_the_tensor(network_files):
    _, files = network_files
    result = CliRunner().invoke(cli, ["network", "show", str(files["plain-npz"][0]), "--arch", "mlp:64,32,10"])
    assert result.exit_code == 2
    assert "'fc1.weight' has shape (64, 64), expected (32, 64)" in result.output


@pytest.mark.parametrize("name", ["missing.onnx", "missing.npz"])
def test_missing_network_file_is_named(tmp_path, name):
    result = CliRunner().invoke(cli, ["network", "show", str(tmp_path / name)])
    assert result.exit_code == 2
    assert f"{name}: network file not found" in result.output


def test_network_show_json_counts_add_up():
    result = CliRunner().invoke(cli, ["network", "show", "resnet-hwa", "--dataset", "digits", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    net = resolve_network("resnet-hwa", "digits")
    assert summary["parameters"] == net.n_parameters() == sum(r.get("parameters", 0) for r in summary["layers"])
    matrices = [r["matrix"] for r in summary["layers"] if "matrix" in r]
    assert summary["tile_parameters"] == sum(rows * cols for rows, cols in matrices)
    assert len(matrices) == summary["weight_layers"] == len(net.weight_layers())
    assert summary["layers"][-1]["output_shape"] == [10]
