"""Plain state dicts with an architecture: formats, naming schemes, TOML, and errors naming the tensor.

Rebuilt networks must give bit-identical logits (the same float32 arrays in the same layers), so equality
is exact.
"""

import numpy as np
import pytest

from devicelab.errors import ConfigError, ModelFileError
from devicelab.network import (
    load_state_dict,
    network_from_state_dict,
    parse_arch,
    read_network,
    read_state_dict,
    resolve_network,
)


@pytest.fixture(scope="module")
def mlp_fm():
    return resolve_network("mlp-fashion-mnist-hwa")


@pytest.fixture(scope="module")
def resnet_digits():
    return resolve_network("resnet-digits-hwa")


def same_logits(a, b, rng):
    x = rng.random((4, *a.input_shape), dtype=np.float32)
    np.testing.assert_array_equal(a.forward(x), b.forward(x))


def test_pytorch_layout_npz_with_mlp_sizes_rebuilds_the_network(tmp_path, mlp_fm, rng):
    np.savez(tmp_path / "sd.npz", **mlp_fm.arrays())  # fc1.weight, fc1.bias, ... without devicelab header
    net = read_network(tmp_path / "sd.npz", arch="mlp:784,256,128,10", dataset="fashion-mnist")
    assert net.input_shape == (1, 28, 28)
    same_logits(net, mlp_fm, rng)


def test_mlp_without_sizes_reads_them_from_the_weights(tmp_path, mlp_fm, rng):
    np.savez(tmp_path / "sd.npz", **mlp_fm.arrays())
    net = load_state_dict(tmp_path / "sd.npz", "mlp")
    assert [l.weight.shape for l in net.weight_layers()] == [(256, 784), (128, 256), (10, 128)]


def test_mlp_image_shape_in_the_arch_string(tmp_path, mlp_fm, rng):
    np.savez(tmp_path / "sd.npz", **mlp_fm.arrays())
    net = load_state_dict(tmp_path / "sd.npz", "mlp:1x28x28,256,128,10")
    assert net.input_shape == (1, 28, 28)
    same_logits(net, mlp_fm, rng)


def test_safetensors_state_dict(tmp_path, mlp_fm, rng):
    st = pytest.importorskip("safetensors.numpy")
    st.save_file(mlp_fm.arrays(), str(tmp_path / "w.safetensors"))
    same_logits(load_state_dict(tmp_path / "w.safetensors", "mlp:1x28x28,256,128,10"), mlp_fm, rng)


def test_torch_state_dict_of_to_torch_module_rebuilds_resnet(tmp_path, resnet_digits, rng):
    torch = pytest.importorskip("torch")
    from devicelab.network.torch_io import to_torch

    torch.save(to_torch(resnet_digits).state_dict(), tmp_path / "w.pt")  # 0.weight, 3.body.0.weight, ...
    net = read_network(tmp_path / "w.pt", arch="resnet", dataset="digits")
    same_logits(net, resnet_digits, rng)


def test_pt_file_holding_a_pickled_object_is_refused(tmp_path):
    torch = pytest.importorskip("torch")
    from fractions import Fraction  # any class outside torch's weights_only allow-list

    torch.save({"fc1.weight": torch.zeros(2, 2), "lr": Fraction(1, 3)}, tmp_path / "w.pt")
    with pytest.raises(ModelFileError, match=r"w.pt: not a plain state dict of tensors.*weights_only=True"):
        read_state_dict(tmp_path / "w.pt")


@pytest.mark.parametrize("suffix", [".npz", ".safetensors", ".pt"])
def test_garbage_weights_file_is_one_clear_error(tmp_path, suffix):
    path = tmp_path / f"w{suffix}"
    path.write_bytes(b"garbage, not weights")
    with pytest.raises(ModelFileError, match=rf"w\{suffix}: not a") as info:
        read_network(path, arch="mlp:64,10")
    assert "\n" not in str(info.value)


def test_missing_parameter_is_named_with_its_expected_shape(tmp_path, mlp_fm):
    arrays = dict(mlp_fm.arrays())
    del arrays["fc2.bias"]
    np.savez(tmp_path / "sd.npz", **arrays)
    with pytest.raises(ModelFileError, match=r"sd.npz: parameter 'fc2.bias' is missing \(expected shape \(128,\)"):
        load_state_dict(tmp_path / "sd.npz", "mlp:784,256,128,10")


def test_wrong_shape_is_named_with_found_and_expected_shapes(tmp_path, mlp_fm):
    np.savez(tmp_path / "sd.npz", **mlp_fm.arrays())
    with pytest.raises(ModelFileError, match=r"'fc2.weight' has shape \(128, 256\), expected \(64, 256\)"):
        load_state_dict(tmp_path / "sd.npz", "mlp:784,256,64,10")


def test_parameters_the_architecture_does_not_use_are_an_error(tmp_path, mlp_fm):
    np.savez(tmp_path / "sd.npz", **mlp_fm.arrays(), **{"fc4.weight": np.zeros((2, 10), np.float32)})
    with pytest.raises(ModelFileError, match=r"\['fc4.weight'\] are not used"):
        load_state_dict(tmp_path / "sd.npz", "mlp:784,256,128,10")


def test_plain_npz_without_arch_says_how_to_give_one(tmp_path, mlp_fm):
    np.savez(tmp_path / "sd.npz", **mlp_fm.arrays())
    with pytest.raises(ModelFileError, match=r"plain state dict \(fc1.weight.*--arch mlp:"):
        read_network(tmp_path / "sd.npz")


def test_resnet_without_image_shape_is_a_config_error(tmp_path, resnet_digits):
    np.savez(tmp_path / "sd.npz", **resnet_digits.arrays())
    with pytest.raises(ConfigError, match="needs the image shape"):
        load_state_dict(tmp_path / "sd.npz", "resnet")


def test_toml_with_layer_specs(tmp_path, mlp_fm, rng):
    (tmp_path / "arch.toml").write_text(
        'name = "my-mlp"\ninput_shape = [1, 28, 28]\n'
        '[[layers]]\ntype = "flatten"\n'
        '[[layers]]\ntype = "linear"\nname = "fc1"\nin = 784\nout = 256\nbias = true\n'
        '[[layers]]\ntype = "relu"\n'
        '[[layers]]\ntype = "linear"\nname = "fc2"\nin = 256\nout = 128\nbias = true\n'
        '[[layers]]\ntype = "relu"\n'
        '[[layers]]\ntype = "linear"\nname = "fc3"\nin = 128\nout = 10\nbias = true\n')
    net = network_from_state_dict(mlp_fm.arrays(), str(tmp_path / "arch.toml"))
    assert net.name == "my-mlp" and net.classes == 10
    same_logits(net, mlp_fm, rng)


def test_toml_with_an_arch_string(tmp_path, resnet_digits, rng):
    (tmp_path / "arch.toml").write_text('arch = "resnet:16,32,64"\ninput_shape = [1, 8, 8]\n')
    same_logits(network_from_state_dict(resnet_digits.arrays(), str(tmp_path / "arch.toml")), resnet_digits, rng)


@pytest.mark.parametrize("text, message", [
    ('input_shape = [1, 8, 8]\n', "exactly one of arch"),
    ('arch = "mlp:64,10"\nlayer = []\n', "unknown keys"),
    ('arch = "mlp:64,10"\ninput_shape = [8, 8]\n', "input_shape must be"),
    ('arch = [', "not valid TOML"),
])
def test_bad_toml_names_the_problem(tmp_path, text, message):
    (tmp_path / "arch.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        parse_arch(str(tmp_path / "arch.toml"))


@pytest.mark.parametrize("arch", ["mlp:784", "mlp:784,x,10", "vgg:1,2", "mlp:0,10"])
def test_bad_arch_strings_are_config_errors(arch):
    with pytest.raises(ConfigError, match="architecture"):
        parse_arch(arch)


def test_missing_optional_packages_name_the_extra(tmp_path, monkeypatch):
    import sys

    from devicelab.errors import MissingDependencyError
    from devicelab.network import load_onnx

    (tmp_path / "m.onnx").write_bytes(b"")
    (tmp_path / "w.safetensors").write_bytes(b"")
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(MissingDependencyError, match=r"devicelab\[onnx\]"):
        load_onnx(tmp_path / "m.onnx")
    with pytest.raises(MissingDependencyError, match=r"devicelab\[safetensors\]"):
        read_state_dict(tmp_path / "w.safetensors")


def test_sequential_without_flatten_names_are_recognized(mlp_fm, rng):
    # nn.Sequential(Linear, ReLU, Linear, ReLU, Linear) fed flat inputs: 0.weight, 2.weight, 4.weight
    arrays = {f"{2 * i}.{p}": mlp_fm.arrays()[f"fc{i + 1}.{p}"] for i in range(3) for p in ("weight", "bias")}
    same_logits(network_from_state_dict(arrays, "mlp:1x28x28,256,128,10"), mlp_fm, rng)


def test_toml_rename_maps_layers_to_other_prefixes(tmp_path, mlp_fm, rng):
    names = {"fc1": "encoder.0", "fc2": "encoder.2", "fc3": "head"}
    arrays = {f"{names[k.split('.')[0]]}.{k.split('.')[1]}": v for k, v in mlp_fm.arrays().items()}
    (tmp_path / "arch.toml").write_text('arch = "mlp:1x28x28,256,128,10"\n[rename]\n'
                                        + "".join(f'{k} = "{v}"\n' for k, v in names.items()))
    same_logits(network_from_state_dict(arrays, str(tmp_path / "arch.toml")), mlp_fm, rng)
    del arrays["head.bias"]
    with pytest.raises(ModelFileError, match=r"'head.bias' is missing \(expected shape \(10,\), devicelab name "
                                             r"'fc3.bias', rename naming\)"):
        network_from_state_dict(arrays, str(tmp_path / "arch.toml"))


def test_toml_rename_of_a_layer_the_architecture_lacks_is_refused(tmp_path):
    (tmp_path / "arch.toml").write_text('arch = "mlp:64,10"\n[rename]\nfc9 = "head"\n')
    with pytest.raises(ConfigError, match=r"\[rename\] names layers \['fc9'\]"):
        parse_arch(str(tmp_path / "arch.toml"))


def test_shipped_network_name_gives_its_exact_architecture(tmp_path, resnet_digits, rng):
    np.savez(tmp_path / "sd.npz", **resnet_digits.arrays())
    same_logits(load_state_dict(tmp_path / "sd.npz", "resnet-digits-hwa"), resnet_digits, rng)
