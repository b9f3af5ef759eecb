"""devicelab: phase-change memory from measured device data to network accuracy on analog hardware.

Stages (each a subpackage, each depending only on the ones before it):

- :mod:`devicelab.measurements` -- read, map and validate measurement files
- :mod:`devicelab.devices` -- compact device models, presets, lmfit fitting, model files
- :mod:`devicelab.spice` -- netlists, ngspice runner, nodal solver, sweeps
- :mod:`devicelab.behavioral` -- fast models built from sweeps, with their measured error
- :mod:`devicelab.network` -- analog tiles, layers, networks, evaluation and training

All quantities are SI inside the package: S, ohm, V, A, s, K, F, J.
"""

__version__ = "0.1.0"

from devicelab.errors import (  # noqa: F401  (re-exported)
    DevicelabError,
    DevicelabWarning,
)
