"""Physical constants and protocol defaults of the device models, defined once for the whole package.

The protocol defaults are those of the PCM statistics of Joshi et al. 2020 as used in IBM aihwkit: drift is
referenced to the read at ``T0`` after programming, one read lasts ``T_READ``, and the drift laws hold at
``T_REF_TEMPERATURE``. Fits, models, the CLI and the inference stage import them from here.
"""

#: Boltzmann constant, eV/K.
K_BOLTZMANN_EV = 8.617333262e-5
#: Default drift reference time, s (G_prog is the conductance read at T0 after programming).
T0 = 20.0
#: Default duration of one read, s (low-frequency cut of the accumulated 1/f read noise).
T_READ = 250e-9
#: Default temperature at which the drift laws hold without Arrhenius acceleration, K.
T_REF_TEMPERATURE = 300.0
#: Smallest relative conductance G/g_max used inside logarithms and power laws (dimensionless).
G_REL_FLOOR = 1e-3
#: Drift-exponent law families, in the order the fit reports them (see :mod:`devicelab.devices.laws`).
DRIFT_FAMILIES = ("loglinear", "linear", "quadratic", "pchip")
