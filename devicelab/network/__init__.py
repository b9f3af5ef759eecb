"""Float networks: layers, the MLP and ResNet models, data sets, pretraining and the PyTorch bridge.

Data: :class:`DataSplit`, :func:`load_dataset`, :func:`load_fashion_mnist`, :func:`load_digits_split`,
:func:`read_idx`. Networks: :class:`Network`, :func:`mlp`, :func:`resnet`, :func:`build_network`,
:func:`save_network`, :func:`load_network`, :func:`resolve_network`, :func:`shipped_networks`; layers in
:mod:`devicelab.network.layers`. PyTorch (torch extra): :func:`from_torch`, :func:`to_torch`,
:class:`PretrainConfig`, :func:`train`.
"""

from devicelab._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    ".data": ["DataSplit", "load_dataset", "load_digits_split", "load_fashion_mnist", "read_idx"],
    ".model": ["Network", "build_network", "load_network", "mlp", "resnet", "resolve_network", "save_network", "shipped_networks"],
    ".torch_io": ["from_torch", "to_torch"],
    ".pretrain": ["PretrainConfig", "train"],
    ".quantized": ["QuantTrainConfig", "QuantizedMVM", "quantize_activations", "train_quantized", "weight_signs"],
})
