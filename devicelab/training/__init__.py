"""In-memory training on analog tiles: pulsed synapses, mixed-precision and pulsed-SGD schemes.

:class:`SynapseConfig`, :class:`PulsedSynapses`, :class:`TileIO`, :func:`mixed_precision_pulses`; runs:
:class:`TrainConfig` -> :class:`TrainingResult`, :func:`compare_schemes`, :func:`plot_training`; the
``devicelab train`` experiment: :func:`resolve_update_model`, :func:`run_training_experiment`.
"""

from devicelab._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    ".synapses": ["PulsedSynapses", "SynapseConfig", "TileIO", "mixed_precision_pulses"],
    ".run": ["TrainConfig", "TrainingResult", "compare_schemes", "plot_training"],
    ".experiment": ["resolve_update_model", "run_training_experiment"],
})
