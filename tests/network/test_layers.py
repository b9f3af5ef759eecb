"""Layers, networks and weight files: im2col convolution, serialization, PyTorch loading."""

import numpy as np
import pytest

from devicelab.errors import ConfigError, ModelFileError
from devicelab.network import build_network, load_network, resnet, save_network
from devicelab.network.layers import Conv2d


def _direct_conv_nchw(x, w, stride, padding):
    n, c, h, wd = x.shape
    o, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (h + 2 * padding - k) // stride + 1, (wd + 2 * padding - k) // stride + 1
    out = np.zeros((n, o, ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = xp[:, :, i * stride:i * stride + k, j * stride:j * stride + k]
            out[:, :, i, j] = np.einsum("nckl,ockl->no", patch, w)
    return out


@pytest.mark.parametrize("stride,padding", [(1, 1), (2, 1), (2, 0), (1, 0)])
def test_conv2d_im2col_matches_direct_convolution(rng, stride, padding):
    x = rng.standard_normal((2, 3, 9, 8)).astype(np.float32)
    w = rng.standard_normal((5, 3, 3, 3)).astype(np.float32)
    conv = Conv2d("c", w, None, stride, padding)
    got = conv.forward(np.ascontiguousarray(x.transpose(0, 2, 3, 1))).transpose(0, 3, 1, 2)
    want = _direct_conv_nchw(x.astype(np.float64), w.astype(np.float64), stride, padding)
    # float32 sums of 27 products of O(1) values: 1e-5 absolute is ~100 float32 ulps of the result.
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_layer_functions_do_not_change_their_inputs(rng):
    net = resnet((1, 8, 8), rng=rng)
    x = rng.random((3, 1, 8, 8), dtype=np.float32)
    before = x.copy()
    net.forward(x)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("suffix", [".npz", ".h5"])
@pytest.mark.parametrize("arch", ["mlp", "resnet"])
def test_weight_file_round_trip_is_exact(tmp_path, rng, arch, suffix):
    net = build_network(arch, (1, 8, 8), 10, rng)
    net.meta["note"] = "round trip"
    path = save_network(net, tmp_path / f"w{suffix}")
    loaded = load_network(path)
    x = rng.random((4, 1, 8, 8), dtype=np.float32)
    np.testing.assert_array_equal(loaded.forward(x), net.forward(x))
    assert loaded.spec() == net.spec()


def test_npz_weight_file_with_wrong_format_is_rejected(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, __format__=np.array("something-else"), w=np.zeros(3))
    with pytest.raises(ModelFileError, match="expected a 'devicelab-network'"):
        load_network(path)


def test_npz_weight_file_missing_an_array_names_it(tmp_path, rng):
    net = build_network("mlp", (1, 8, 8), 10, rng)
    path = save_network(net, tmp_path / "w.npz")
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files if k != "fc1.weight"}
    np.savez(path, **arrays)
    with pytest.raises(ModelFileError, match="fc1.weight"):
        load_network(path)


def test_object_arrays_are_never_unpickled(tmp_path):
    path = tmp_path / "pickled.npz"
    np.savez(path, __format__=np.array("devicelab-network"), __format_version__=np.array(1),
             __spec__=np.array([{"layers": []}], dtype=object))
    with pytest.raises(ModelFileError):
        load_network(path)


def test_duplicate_layer_names_are_rejected(rng):
    from devicelab.network.layers import Linear
    from devicelab.network.model import Network

    layer = Linear("fc", np.zeros((2, 4)))
    with pytest.raises(ConfigError, match="duplicate"):
        Network([layer, Linear("fc", np.zeros((2, 2)))], (1, 2, 2), 2)


def test_torch_module_loads_with_identical_outputs(rng):
    torch = pytest.importorskip("torch")
    from devicelab.network import from_torch, to_torch

    net = resnet((1, 8, 8), rng=rng)
    for bn in net.batchnorm_layers():  # non-trivial statistics so BatchNorm is really checked
        bn.mean[:] = rng.standard_normal(bn.mean.shape)
        bn.var[:] = rng.uniform(0.5, 2.0, bn.var.shape)
    module = to_torch(net).eval()
    x = rng.random((5, 1, 8, 8), dtype=np.float32)
    with torch.no_grad():
        want = module(torch.from_numpy(x)).numpy()
    loaded = from_torch(module, (1, 8, 8))
    # Same float32 arithmetic up to summation order: 1e-4 on logits of order 1-10.
    np.testing.assert_allclose(loaded.forward(x), want, atol=1e-4)
    assert loaded.classes == 10


def test_user_sequential_torch_mlp_loads(rng):
    torch = pytest.importorskip("torch")
    from devicelab.network import from_torch

    nn = torch.nn
    module = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 10)).eval()
    x = rng.random((6, 1, 8, 8), dtype=np.float32)
    with torch.no_grad():
        want = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(from_torch(module, (1, 8, 8)).forward(x), want, atol=1e-5)


def test_unsupported_torch_module_is_refused():
    torch = pytest.importorskip("torch")
    from devicelab.network import from_torch

    with pytest.raises(ConfigError, match="not supported"):
        from_torch(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2), torch.nn.Sigmoid()), (1, 2, 2))


def test_shipped_networks_are_small_and_reach_their_recorded_accuracy():
    from importlib import resources

    from devicelab.network import load_dataset, resolve_network, shipped_networks
    from devicelab.network.data import FASHION_MNIST_DIR

    names = shipped_networks()
    assert {"resnet-fashion-mnist-hwa", "resnet-fashion-mnist-float"} <= set(names)
    for name in names:
        size = (resources.files("devicelab") / "data" / f"{name}.npz").stat().st_size
        assert size < 2_000_000
        net = resolve_network(name)
        if net.meta["dataset"] == "fashion-mnist" and not FASHION_MNIST_DIR.is_dir():
            continue  # weights checked above; no data to check the accuracy with
        test = load_dataset(net.meta["dataset"], "test").subset(2000)
        # 2000 of 10000 test images: the accuracy on a subset is within ~2 points (3 sigma of a binomial).
        assert net.accuracy(test.x, test.y) == pytest.approx(net.meta["float_test_accuracy"], abs=0.025)


def test_short_shipped_names_complete_with_the_dataset():
    from devicelab.network import resolve_network

    assert resolve_network("resnet-hwa", "digits").name == "resnet-digits-hwa"
    assert resolve_network("mlp-float", "fashion-mnist").name == "mlp-fashion-mnist-float"
    with pytest.raises(ConfigError, match="shipped"):
        resolve_network("vgg-hwa", "digits")


def test_hdf5_weight_file_of_unknown_version_is_rejected(tmp_path, rng):
    import h5py

    path = save_network(build_network("mlp", (1, 8, 8), 10, rng), tmp_path / "w.h5")
    with h5py.File(path, "r+") as fh:
        fh.attrs["format_version"] = 99
    with pytest.raises(ModelFileError, match="format_version 99"):
        load_network(path)
