"""Float networks: layers, the MLP and ResNet models, data sets, pretraining and the PyTorch bridge.

Data: :class:`DataSplit`, :func:`load_dataset`, :func:`load_fashion_mnist`, :func:`load_digits_split`,
:func:`read_idx`. Networks: :class:`Network`, :func:`mlp`, :func:`resnet`, :func:`build_network`,
:func:`save_network`, :func:`load_network`, :func:`resolve_network`, :func:`shipped_networks`; layers in
:mod:`devicelab.network.layers`. PyTorch (torch extra): :func:`from_torch`, :func:`to_torch`,
:class:`PretrainConfig`, :func:`train`. Import: :func:`read_network` (any supported file),
:func:`load_onnx` (onnx extra), :func:`load_state_dict` / :func:`network_from_state_dict` / :func:`parse_arch`
(plain state dicts), :func:`describe_network` (layer table).
"""

from devicelab._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    ".data": ["DataSplit", "load_dataset", "load_digits_split", "load_fashion_mnist", "read_idx"],
    ".model": ["Network", "build_network", "load_network", "mlp", "resnet", "resolve_network", "save_network",
               "shipped_networks"],
    ".torch_io": ["from_torch", "to_torch"],
    ".pretrain": ["PretrainConfig", "train"],
    ".formats": ["adapt_input_shape", "describe_network", "network_summary", "read_network"],
    ".onnx_import": ["load_onnx"],
    ".state_dict": ["load_state_dict", "network_from_state_dict", "parse_arch", "read_state_dict"],
    ".quantized": ["QuantTrainConfig", "QuantizedMVM", "quantize_activations", "train_quantized", "weight_signs"],
})
