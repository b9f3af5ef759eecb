"""Stage 3: behavioral models built from SPICE/nodal sweeps, with their measured error.

Crossbar model (SI units: S, ohm, V, A):

- ``load_crossbar_model(path) -> CrossbarModel``; ``save_crossbar_model(model, path)`` (HDF5, format
  "devicelab.crossbar_model" v1, see :mod:`devicelab.behavioral.model_file`).
- ``CrossbarModel.bind(g) -> BoundCrossbar`` (g (rows, cols) S, or (2, rows, cols) for G+/G- pairs; all
  per-matrix set-up happens here); ``BoundCrossbar.apply(v) -> (batch, cols)`` A for v (batch, rows) V,
  float32 by default. ``CrossbarModel.validity`` (sizes, resistances, G range, |V|, devices); outside it a
  :class:`~devicelab.errors.ValidityRangeWarning`. ``CrossbarModel.from_params(r_row, r_col, ...)``,
  ``CrossbarModel.with_circuit(...)``.
- ``build_crossbar_model(sweep) -> CrossbarModel`` (calibrated on part of a sweep, error table on the
  held-out rest), ``check_crossbar_model(model, sweep) -> rows``, ``format_error_table(rows) -> str``.
- Plots (matplotlib Figures): ``plot_model_vs_reference``, ``plot_error_vs_size``, ``plot_column_errors``.

ADC behavioral model and DAC input quantization: :class:`ADCModel` (``load_adc_model`` / ``save_adc_model``,
``from_characterization``, ``ideal_adc``), ``quantize_dac``; see :mod:`devicelab.behavioral.adc`.
"""

from devicelab._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    ".build": ["build_crossbar_model", "check_crossbar_model", "format_error_table", "nrms_error", "summarize_errors"],
    ".crossbar_model": ["BoundCrossbar", "CrossbarCircuit", "CrossbarModel", "ModelSettings", "Validity"],
    ".model_file": ["apply_model_files", "load_crossbar_model", "save_crossbar_model"],
    ".plots": ["plot_column_errors", "plot_error_vs_size", "plot_model_vs_reference"],
    ".energy_table": ["EnergyTable", "load_energy_table"],
    ".periphery": ["EnergyBreakdown", "PeripheryModel", "adc_costs", "tile_mvm_energy"],
    ".adc": ["ADCModel", "from_characterization", "ideal_adc", "load_adc_model", "quantize_dac", "save_adc_model"],
    ".bitops": ["BitOpsModel", "ideal_bitops", "load_bitops_model", "save_bitops_model", "shipped_bitops_model"],
})
