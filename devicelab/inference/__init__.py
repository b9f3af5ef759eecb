"""Analog inference: networks mapped onto PCM tiles, programmed once and read at many times.

The hardware: one frozen :class:`AnalogHardware` (device model, tile settings, crossbar and ADC models, drift
compensation; saved as TOML) with a small Protocol per swappable part (:class:`DeviceModelLike`,
:class:`CrossbarModelLike`, :class:`BoundTile`, :class:`ADCModelLike`, :class:`DriftCompensation`).
Tile settings and non-ideality switches: :class:`AnalogConfig` (:data:`NONIDEALITIES`). Engine:
:class:`AnalogNetwork` (map + program once), :class:`AnalogState` (``read_at(t)``; the ``mvm`` of
``Network.forward``). Mapping: :class:`DifferentialConverter`, :class:`Tiling`, :func:`map_matrix`. Drift
compensation: :class:`NoCompensation`, :class:`GlobalDriftCompensation`, :class:`ColumnDriftCompensation`,
:class:`BatchNormCompensation`. Experiments: :func:`evaluate_accuracy_vs_time` -> :class:`EvaluationResult`,
:func:`run_evaluation` (files), :func:`plot_accuracy_vs_time`. Energy: :class:`EnergyModel` (periphery and
digital tables of a hardware), :func:`network_energy` -> :class:`NetworkEnergy` (per layer and part, latency,
TOPS/W), :class:`EnergyMeter`, :func:`plot_energy_breakdown`, :func:`plot_pareto`.
:func:`run_evaluation` (files), :func:`plot_accuracy_vs_time`. Digital MRAM processing-in-memory:
:class:`DigitalPIMEngine`, :class:`DigitalPIMConfig`, :func:`digital_accuracy`, :func:`compare_pcm_mram`.
"""

from devicelab._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    ".hardware": ["AnalogHardware", "PartSource", "DeviceModelLike", "CrossbarModelLike", "BoundTile",
                  "ADCModelLike", "DriftCompensation"],
    ".mapping": ["DifferentialConverter", "Tiling", "UnitCell", "map_matrix"],
    ".compensation": ["BatchNormCompensation", "ColumnDriftCompensation", "GlobalDriftCompensation", "NoCompensation",
                      "adapt_batchnorm", "make_compensation"],
    ".analog": ["NONIDEALITIES", "AnalogConfig", "AnalogNetwork", "AnalogState"],
    ".evaluate": ["AccuracyCurve", "EvaluationResult", "evaluate_accuracy_vs_time", "parse_times",
                   "acting_nonidealities", "attribution_hardware"],
    ".experiment": ["run_evaluation"],
    ".energy": ["EnergyMeter", "EnergyModel", "LayerEnergy", "NetworkEnergy", "network_energy", "OPS_PER_MAC"],
    ".plots": ["plot_accuracy_vs_time", "plot_energy_breakdown", "plot_pareto"],
    ".digital": ["DigitalPIMConfig", "DigitalPIMEngine", "digital_accuracy", "exact_accuracy"],
    ".digital_experiment": ["Comparison", "accuracy_vs_error_scale", "accuracy_vs_time", "compare_pcm_mram"],
})
