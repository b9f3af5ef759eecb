"""ONNX import: shipped networks exported by torch and read back; hand-built graphs for each rule.

Float tolerance: logits are compared with onnxruntime to 1e-5 absolute. Both compute in float32 with a
different summation order; the logits are O(10) and the widest dot product has 784 terms, so rounding
differences are a few 1e-6 (measured at most 3.3e-6 over the shipped networks). Hand-built graphs use
unit-normal weights and reach logits of ~50, so they are compared to 1e-5 relative as well (float32 epsilon
6e-8 times the tens of terms summed).
"""

import warnings

import numpy as np
import pytest

from devicelab.errors import ConfigError, ModelFileError
from devicelab.network import load_dataset, load_onnx, read_network, resolve_network

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

ATOL = 1e-5


def export_torch(network, path, fold_batchnorm: bool):
    """Export ``network`` with torch's TorchScript exporter (dynamo=False: the dynamo exporter needs
    onnxscript, which is not installed); eval mode folds BatchNorm into Conv unless constant folding is off."""
    torch = pytest.importorskip("torch")
    from devicelab.network.torch_io import to_torch

    module = to_torch(network).eval()
    x = torch.zeros(2, *network.input_shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter announces its deprecation
        torch.onnx.export(module, (x,), str(path), dynamo=False, do_constant_folding=fold_batchnorm,
                          input_names=["x"], output_names=["logits"],
                          dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}})
    return path


def run_ort(path, x):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """export(name, fold) -> path of the shipped network's ONNX export, made once per module."""
    cache = {}

    def export(name, fold):
        if (name, fold) not in cache:
            path = tmp_path_factory.mktemp("onnx") / f"{name}-{'folded' if fold else 'kept'}.onnx"
            cache[name, fold] = export_torch(resolve_network(name), path, fold)
        return cache[name, fold]

    return export


@pytest.fixture(scope="module")
def digits_test():
    return load_dataset("digits", "test")


@pytest.mark.parametrize("name, fold", [("resnet-digits-hwa", True), ("resnet-digits-hwa", False),
                                        ("resnet-fashion-mnist-float", True)],
                         ids=["digits-bn-folded", "digits-bn-kept", "fashion-mnist-bn-folded"])
def test_exported_shipped_network_matches_onnxruntime(exported, rng, name, fold):
    path = exported(name, fold)
    imported = load_onnx(path)
    x = rng.random((16, *imported.input_shape), dtype=np.float32)
    np.testing.assert_allclose(imported.forward(x), run_ort(path, x), rtol=0, atol=ATOL)


@pytest.mark.parametrize("name", ["mlp-digits-float", "resnet-digits-hwa"])
def test_reimported_network_has_the_same_test_accuracy_and_logits(exported, digits_test, name):
    original = resolve_network(name)
    imported = load_onnx(exported(name, False))
    x = digits_test.x
    np.testing.assert_allclose(imported.forward(x), original.forward(x), rtol=0, atol=ATOL)
    assert imported.accuracy(x, digits_test.y) == original.accuracy(x, digits_test.y)


def test_unfolded_export_keeps_every_weight_layer_and_batchnorm(exported):
    original = resolve_network("resnet-digits-hwa")
    imported = load_onnx(exported("resnet-digits-hwa", False))
    assert [l.matrix.shape for l in imported.weight_layers()] == [l.matrix.shape for l in original.weight_layers()]
    for a, b in zip(imported.weight_layers(), original.weight_layers()):
        np.testing.assert_array_equal(a.matrix, b.matrix)
    assert len(imported.batchnorm_layers()) == len(original.batchnorm_layers())
    assert imported.n_parameters() == original.n_parameters()


def test_folded_export_maps_every_conv_and_gemm_onto_tiles(exported):
    path = exported("resnet-digits-hwa", True)
    graph_ops = [n.op_type for n in onnx.load(str(path)).graph.node]
    imported = load_onnx(path)
    assert len(imported.weight_layers()) == graph_ops.count("Conv") + graph_ops.count("Gemm")
    assert imported.batchnorm_layers() == []


# ---------------------------------------------------------------------- hand-built graphs
def make_model(nodes, initializers, in_shape, out_shape, tmp_path, name="g.onnx"):
    graph = helper.make_graph(
        nodes, "hand", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *in_shape])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", *out_shape])],
        [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in initializers.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = tmp_path / name
    onnx.save(model, str(path))
    return path


def assert_matches_ort(path, rng, in_shape):
    net = load_onnx(path)
    x = rng.standard_normal((8, *in_shape)).astype(np.float32)
    if len(in_shape) == 1:
        got = net.forward(x.reshape(8, *net.input_shape))
    else:
        got = net.forward(x)
    np.testing.assert_allclose(got, run_ort(path, x), rtol=ATOL, atol=ATOL)
    return net


def test_gemm_alpha_beta_and_untransposed_b_match_onnxruntime(tmp_path, rng):
    w = rng.standard_normal((12, 5))  # (in, out): transB = 0
    c = rng.standard_normal(5)
    node = helper.make_node("Gemm", ["x", "W", "C"], ["y"], name="head", alpha=0.5, beta=2.0, transB=0)
    path = make_model([node], {"W": w, "C": c}, [12], [5], tmp_path)
    net = assert_matches_ort(path, rng, (12,))
    assert net.input_shape == (12, 1, 1) and net.classes == 5


def test_matmul_with_bias_add_becomes_one_linear_layer(tmp_path, rng):
    nodes = [helper.make_node("MatMul", ["x", "W"], ["h"], name="mm"),
             helper.make_node("Add", ["h", "b"], ["h2"], name="bias"),
             helper.make_node("Relu", ["h2"], ["h3"], name="act"),
             helper.make_node("MatMul", ["h3", "W2"], ["y"], name="mm2")]
    path = make_model(nodes, {"W": rng.standard_normal((6, 4)), "b": rng.standard_normal(4),
                              "W2": rng.standard_normal((4, 3))}, [6], [3], tmp_path)
    net = assert_matches_ort(path, rng, (6,))
    assert [l.bias is not None for l in net.weight_layers()] == [True, False]


def conv_pool_graph(tmp_path, rng, pool="MaxPool", **conv_attrs):
    nodes = [helper.make_node("Conv", ["x", "W", "B"], ["c"], name="conv", kernel_shape=[3, 3], **conv_attrs),
             helper.make_node("BatchNormalization", ["c", "g", "be", "m", "v"], ["n"], name="bn", epsilon=1e-3),
             helper.make_node("Relu", ["n"], ["r"], name="act"),
             helper.make_node(pool, ["r"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Flatten", ["p"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "Wf"], ["y"], name="fc", transB=1)]
    inits = {"W": rng.standard_normal((4, 2, 3, 3)), "B": rng.standard_normal(4), "g": rng.random(4) + 0.5,
             "be": rng.standard_normal(4), "m": rng.standard_normal(4), "v": rng.random(4) + 0.1,
             "Wf": rng.standard_normal((3, 4 * 4 * 4))}
    return make_model(nodes, inits, [2, 8, 8], [3], tmp_path)


@pytest.mark.parametrize("pool", ["MaxPool", "AveragePool"])
def test_conv_batchnorm_pool_flatten_gemm_match_onnxruntime(tmp_path, rng, pool):
    path = conv_pool_graph(tmp_path, rng, pool, pads=[1, 1, 1, 1], strides=[1, 1])
    assert_matches_ort(path, rng, (2, 8, 8))


def test_identity_residual_with_global_pool_and_reshape_matches_onnxruntime(tmp_path, rng):
    nodes = [helper.make_node("Conv", ["x", "W1"], ["a"], name="c1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["a"], ["b"], name="r1"),
             helper.make_node("Conv", ["b", "W2"], ["c"], name="c2", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Add", ["c", "x"], ["s"], name="skip"),
             helper.make_node("Relu", ["s"], ["r"], name="r2"),
             helper.make_node("GlobalAveragePool", ["r"], ["p"], name="gap"),
             helper.make_node("Reshape", ["p", "shape"], ["f"], name="reshape"),
             helper.make_node("Gemm", ["f", "Wf", "bf"], ["y"], name="fc", transB=1)]
    inits = {"W1": rng.standard_normal((3, 3, 3, 3)), "W2": rng.standard_normal((3, 3, 3, 3)),
             "Wf": rng.standard_normal((2, 3)), "bf": rng.standard_normal(2)}
    graph = helper.make_graph(
        nodes, "res", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])],
        [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in inits.items()]
        + [numpy_helper.from_array(np.array([-1, 3], np.int64), "shape")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "res.onnx"))
    net = assert_matches_ort(tmp_path / "res.onnx", rng, (3, 6, 6))
    (block,) = [l for l in net.layers if l.kind == "residual"]
    assert len(block.body) == 3 and block.shortcut == []


def test_unsupported_operator_is_refused_by_node_name_and_op_type(tmp_path, rng):
    nodes = [helper.make_node("Gemm", ["x", "W"], ["h"], name="fc1", transB=1),
             helper.make_node("Sigmoid", ["h"], ["y"], name="squash")]
    path = make_model(nodes, {"W": rng.standard_normal((4, 6))}, [6], [4], tmp_path)
    with pytest.raises(ModelFileError, match=r"'squash' \(Sigmoid\).*not supported"):
        load_onnx(path)


def test_weight_of_the_wrong_width_is_named_with_its_shape(tmp_path, rng):
    nodes = [helper.make_node("Gemm", ["x", "W1"], ["h"], name="fc1", transB=1),
             helper.make_node("Gemm", ["h", "W2"], ["y"], name="fc2", transB=1)]
    # fc1 gives 5 features, fc2 expects 7: onnx.checker does not see it, the import must.
    path = make_model(nodes, {"W1": rng.standard_normal((5, 6)), "W2": rng.standard_normal((3, 7))},
                      [6], [3], tmp_path)
    with pytest.raises(ModelFileError, match=r"'fc2'.*'W2' has shape \(3, 7\) for an input of 5 features"):
        load_onnx(path)


def test_conv_weight_with_wrong_input_channels_names_expected_shape(tmp_path, rng):
    node = helper.make_node("Conv", ["x", "W"], ["y"], name="conv", kernel_shape=[3, 3])
    path = make_model([node], {"W": rng.standard_normal((4, 3, 3, 3))}, [2, 8, 8], [4, 6, 6], tmp_path)
    with pytest.raises(ModelFileError, match=r"'W' has shape \(4, 3, 3, 3\), expected \(4, 2, 3, 3\)"):
        load_onnx(path)


@pytest.mark.parametrize("attrs, message", [
    ({"group": 2}, "group = 2"),
    ({"dilations": [2, 2]}, "dilations"),
    ({"pads": [1, 0, 1, 0]}, "pads"),
    ({"strides": [1, 2]}, "strides"),
])
def test_conv_attributes_devicelab_cannot_compute_are_refused(tmp_path, rng, attrs, message):
    w_in = 1 if attrs.get("group") == 2 else 2
    node = helper.make_node("Conv", ["x", "W"], ["y"], name="conv", kernel_shape=[3, 3], **attrs)
    path = make_model([node], {"W": rng.standard_normal((4, w_in, 3, 3))}, [2, 8, 8], [4, None, None], tmp_path)
    with pytest.raises(ModelFileError, match=rf"'conv' \(Conv\).*{message}"):
        load_onnx(path)


def test_pool_with_stride_other_than_kernel_is_refused(tmp_path, rng):
    node = helper.make_node("MaxPool", ["x"], ["y"], name="pool", kernel_shape=[3, 3], strides=[1, 1])
    path = make_model([node], {}, [2, 8, 8], [2, 6, 6], tmp_path)
    with pytest.raises(ModelFileError, match=r"'pool' \(MaxPool\).*stride = kernel"):
        load_onnx(path)


def test_residual_add_without_relu_is_refused(tmp_path, rng):
    nodes = [helper.make_node("Gemm", ["x", "W"], ["h"], name="fc", transB=1),
             helper.make_node("Add", ["h", "x"], ["y"], name="skip")]
    path = make_model(nodes, {"W": rng.standard_normal((4, 4))}, [4], [4], tmp_path)
    with pytest.raises(ModelFileError, match=r"'skip' \(Add\).*followed by exactly one Relu"):
        load_onnx(path)


def test_garbage_file_is_a_model_file_error(tmp_path):
    path = tmp_path / "bad.onnx"
    path.write_bytes(b"\x08\x07not a protobuf at all \xff\xff")
    with pytest.raises(ModelFileError, match="bad.onnx"):
        load_onnx(path)


def test_flat_input_network_takes_the_data_set_image_shape(tmp_path, rng):
    node = helper.make_node("Gemm", ["x", "W"], ["y"], name="fc", transB=1)
    path = make_model([node], {"W": rng.standard_normal((10, 64))}, [64], [10], tmp_path)
    net = read_network(path, dataset="digits")
    assert net.input_shape == (1, 8, 8)
    x = rng.random((3, 1, 8, 8), dtype=np.float32)
    np.testing.assert_allclose(net.forward(x), run_ort(path, x.reshape(3, 64)), rtol=0, atol=ATOL)
    with pytest.raises(ConfigError, match=r"takes inputs \(64, 1, 1\), not \(1, 28, 28\)"):
        read_network(path, dataset="fashion-mnist")


@pytest.mark.parametrize("dynamic_batch", [False, True], ids=["static", "dynamic-batch"])
def test_custom_torch_module_with_view_flatten_matches_onnxruntime(tmp_path, rng, dynamic_batch):
    """A LeNet-style module written the usual way (functional pooling, x.view(x.size(0), -1)); with a dynamic
    batch the exporter computes the Reshape target with Shape/Gather/Unsqueeze/Concat."""
    torch = pytest.importorskip("torch")
    nn, F = torch.nn, torch.nn.functional

    class LeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.c2 = nn.Conv2d(1, 6, 5, padding=2), nn.Conv2d(6, 16, 5)
            self.bn = nn.BatchNorm2d(16)
            self.f1, self.f2 = nn.Linear(16 * 5 * 5, 32), nn.Linear(32, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.c1(x)), 2)
            x = F.avg_pool2d(F.relu(self.bn(self.c2(x))), 2)
            return self.f2(F.relu(self.f1(x.view(x.size(0), -1))))

    torch.manual_seed(0)
    module = LeNet().eval()
    with torch.no_grad():
        module.bn.running_mean.uniform_(-0.5, 0.5), module.bn.running_var.uniform_(0.5, 2.0)
    path = tmp_path / "lenet.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (torch.zeros(2, 1, 28, 28),), str(path), dynamo=False, input_names=["x"],
                          output_names=["y"], dynamic_axes={"x": {0: "n"}} if dynamic_batch else None)
    if dynamic_batch:
        assert "Shape" in [n.op_type for n in onnx.load(str(path)).graph.node]
    x = rng.random((2, 1, 28, 28), dtype=np.float32)  # the static export fixes the batch at 2
    np.testing.assert_allclose(load_onnx(path).forward(x), run_ort(path, x), rtol=0, atol=ATOL)


def test_imported_network_programs_the_same_tiles_as_the_original(exported, digits_test):
    """Same layers in the same order with the same weights -> the analog engine maps and draws the same
    devices, so the analog logits after a day of drift are identical (the BatchNorm eps that ONNX stores as
    float32, 9.99999975e-06 instead of 1e-5, does not change a float32 result here)."""
    from devicelab.devices import preset
    from devicelab.inference import AnalogConfig, AnalogHardware, AnalogNetwork, GlobalDriftCompensation

    original = resolve_network("resnet-digits-hwa")
    imported = load_onnx(exported("resnet-digits-hwa", False))
    hardware = AnalogHardware(preset("joshi2020"), AnalogConfig(), compensation=GlobalDriftCompensation())
    x = digits_test.x[:64]
    logits = []
    for net in (original, imported):
        rng = np.random.default_rng(7)
        logits.append(AnalogNetwork(net, hardware, x, rng).read_at(86400.0, rng).forward(x))
    np.testing.assert_array_equal(logits[1], logits[0])


def test_conv_auto_pad_same_with_symmetric_padding_matches_onnxruntime(tmp_path, rng):
    node = helper.make_node("Conv", ["x", "W"], ["c"], name="conv", kernel_shape=[3, 3], auto_pad="SAME_UPPER")
    nodes = [node, helper.make_node("GlobalAveragePool", ["c"], ["p"], name="gap"),
             helper.make_node("Flatten", ["p"], ["y"], name="flat")]
    path = make_model(nodes, {"W": rng.standard_normal((4, 2, 3, 3))}, [2, 8, 8], [4], tmp_path)
    net = assert_matches_ort(path, rng, (2, 8, 8))
    assert net.weight_layers()[0].padding == 1


def test_conv_auto_pad_same_needing_uneven_padding_is_refused(tmp_path, rng):
    # 8 px, kernel 3, stride 2: SAME pads 1 pixel in total, on one side only.
    node = helper.make_node("Conv", ["x", "W"], ["y"], name="conv", kernel_shape=[3, 3], strides=[2, 2],
                            auto_pad="SAME_UPPER")
    path = make_model([node], {"W": rng.standard_normal((4, 2, 3, 3))}, [2, 8, 8], [4, 4, 4], tmp_path)
    with pytest.raises(ModelFileError, match=r"'conv' \(Conv\): auto_pad 'SAME_UPPER' needs unequal padding"):
        load_onnx(path)


@pytest.mark.parametrize("keepdims", [0, 1])
def test_spatial_reduce_mean_and_inference_dropout_match_onnxruntime(tmp_path, rng, keepdims):
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"], name="conv", kernel_shape=[3, 3]),
             helper.make_node("Relu", ["c"], ["r"], name="act"),
             helper.make_node("ReduceMean", ["r"], ["m"], name="mean", axes=[2, 3], keepdims=keepdims),
             helper.make_node("Flatten", ["m"], ["f"], name="flat"),
             helper.make_node("Dropout", ["f"], ["d"], name="drop"),
             helper.make_node("Gemm", ["d", "Wf"], ["y"], name="fc", transB=1)]
    path = make_model(nodes, {"W": rng.standard_normal((4, 2, 3, 3)), "Wf": rng.standard_normal((3, 4))},
                      [2, 8, 8], [3], tmp_path)
    net = assert_matches_ort(path, rng, (2, 8, 8))
    assert [l.kind for l in net.layers] == ["conv2d", "relu", "global_avgpool", "flatten", "linear"]


def test_reduce_mean_over_channels_is_refused(tmp_path, rng):
    node = helper.make_node("ReduceMean", ["x"], ["y"], name="mean", axes=[1], keepdims=0)
    path = make_model([node], {}, [2, 8, 8], [8, 8], tmp_path)
    with pytest.raises(ModelFileError, match=r"'mean' \(ReduceMean\): axes \[1\] are not the two spatial axes"):
        load_onnx(path)
