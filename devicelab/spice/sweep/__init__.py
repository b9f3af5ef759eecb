"""Checkpointed crossbar sweeps: a TOML grid run through the ideal model, the nodal solver and ngspice.

``run_sweep(description, output, executor=...)`` writes one HDF5 "devicelab.sweep" file (format in
:mod:`devicelab.spice.sweep.run`), checkpointing every point so that an interrupted sweep resumes; executors run
points serially, on a local process pool or on Dask. ``read_sweep`` / ``summarize_sweep`` read the result.
"""

from devicelab._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    ".config": ["SweepDescription", "SweepPoint", "load_description"],
    ".executor": ["DaskExecutor", "LocalExecutor", "SerialExecutor", "make_executor"],
    ".run": ["run_sweep"],
    ".results": ["SweepData", "SweepRecord", "read_sweep", "summarize_sweep"],
})
