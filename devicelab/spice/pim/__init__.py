"""Digital MRAM processing-in-memory column: netlists (multi-row sensing) and Monte Carlo characterization.

Public API: :class:`SenseSpec`, :data:`OPERATIONS`, :func:`op_output`, :func:`exact_output`,
:func:`sense_voltage`, :func:`reference_voltages`, :func:`build_mc_netlist`; :func:`simulate_columns`,
:func:`characterize_bitops` -> :class:`BitOpsCharacterization`.
"""

from devicelab._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    ".netlist": ["OPERATIONS", "SenseSpec", "build_mc_netlist", "exact_output", "op_output", "reference_voltages",
                 "sensing_statistics",
                 "sense_voltage"],
    ".characterize": ["BitOpsCharacterization", "ColumnRun", "all_patterns", "characterize_bitops",
                      "simulate_columns"],
})
