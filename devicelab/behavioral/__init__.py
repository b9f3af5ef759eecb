"""Stage 3: behavioral models built from SPICE/nodal sweeps, with their measured error.

Crossbar model (helper "behavioral"; SI units: S, ohm, V, A):

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
"""

from devicelab.behavioral.build import (
    build_crossbar_model,
    check_crossbar_model,
    format_error_table,
    nrms_error,
    summarize_errors,
)
from devicelab.behavioral.crossbar_model import (
    BoundCrossbar,
    CrossbarCircuit,
    CrossbarModel,
    ModelSettings,
    Validity,
)
from devicelab.behavioral.model_file import apply_model_files, load_crossbar_model, save_crossbar_model
from devicelab.behavioral.plots import plot_column_errors, plot_error_vs_size, plot_model_vs_reference

# ADC behavioral model and DAC input quantization (helper "adc"; see devicelab.behavioral.adc)
from devicelab.behavioral.adc import ADCModel, from_characterization, ideal_adc, load_adc_model, quantize_dac  # noqa: E402
from devicelab.behavioral.adc import save_adc_model  # noqa: E402

# Digital MRAM PIM bit-operation model (helper "mram"; see devicelab.behavioral.bitops)
from devicelab.behavioral.bitops import BitOpsModel, ideal_bitops, load_bitops_model, save_bitops_model  # noqa: E402
from devicelab.behavioral.bitops import shipped_bitops_model  # noqa: E402
