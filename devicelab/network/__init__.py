"""Network stage: analog in-memory inference of whole networks on PCM tiles, data sets and training.

Public API
----------
Data: :class:`DataSplit`, :func:`load_dataset`, :func:`load_fashion_mnist`, :func:`load_digits_split`,
:func:`read_idx`.
Networks: :class:`Network`, :func:`mlp`, :func:`resnet`, :func:`build_network`, :func:`save_network`,
:func:`load_network`, :func:`resolve_network`, :func:`shipped_networks`; layers in
:mod:`devicelab.network.layers`; PyTorch bridge :func:`from_torch`, :func:`to_torch` (torch extra).
Training of reference networks (torch extra): :class:`PretrainConfig`, :func:`train`.
Analog inference: :class:`AnalogConfig` (tile settings, non-ideality switches, :data:`NONIDEALITIES`),
:class:`AnalogNetwork` (map + program once), :class:`AnalogState` (``read_at(t)``; the ``mvm`` of
``Network.forward``), converters :class:`DifferentialConverter`, :class:`Tiling`, :func:`map_matrix`; drift
compensation :class:`NoCompensation`, :class:`GlobalDriftCompensation`, :class:`ColumnDriftCompensation`.
Experiment: :func:`evaluate_accuracy_vs_time` -> :class:`EvaluationResult`, :func:`run_evaluation` (files),
:func:`plot_accuracy_vs_time`.
"""

from devicelab.network.data import DataSplit, load_dataset, load_digits_split, load_fashion_mnist, read_idx  # noqa: F401
from devicelab.network.model import (Network, build_network, load_network, mlp, resnet, resolve_network,  # noqa: F401
                                     save_network, shipped_networks)
from devicelab.network.torch_io import from_torch, to_torch  # noqa: F401
from devicelab.network.pretrain import PretrainConfig, train  # noqa: F401
from devicelab.network.mapping import DifferentialConverter, Tiling, map_matrix  # noqa: F401
from devicelab.network.compensation import (BatchNormCompensation, ColumnDriftCompensation,  # noqa: F401
                                            GlobalDriftCompensation, NoCompensation, adapt_batchnorm,
                                            make_compensation)
from devicelab.network.analog import NONIDEALITIES, AnalogConfig, AnalogNetwork, AnalogState  # noqa: F401
from devicelab.network.evaluate import (AccuracyCurve, EvaluationResult, evaluate_accuracy_vs_time,  # noqa: F401
                                        parse_times)
from devicelab.network.experiment import load_device_model, run_evaluation  # noqa: F401
from devicelab.network.plots import plot_accuracy_vs_time  # noqa: F401
from devicelab.network.training import PulsedSynapses, SynapseConfig, TileIO, mixed_precision_pulses  # noqa: F401
from devicelab.network.training_run import TrainConfig, TrainingResult, compare_schemes, plot_training  # noqa: F401
from devicelab.network.training_experiment import resolve_update_model, run_training_experiment  # noqa: F401
