"""Fixtures of the behavioral tests: small real sweeps (nodal-only, and ngspice-backed)."""

from pathlib import Path

import pytest

_NODAL_TOML = """
name = "behavioral_nodal"
n_vectors = 6
repeats = 2
seed = 11
engines = ["nodal"]

[array]
sizes = [[8, 8], [16, 16]]
r_wire = [5.0, 80.0]

[[devices]]
kind = "linear"

[[conductances]]
kind = "uniform"
g_min = 0.25e-6
g_max = 25e-6

[[inputs]]
kind = "dense"
v_read = 0.2
"""

# ngspice runs every point (arrays up to 16 x 16): linear and sinh devices, two independent draws per
# circuit so half of the draws are held out. 80 ohm wires make a 16 x 16 array about as non-ideal as
# 64 x 64 with 5 ohm (the ideal model is ~15 % off), so the 1 % target is really exercised. 16 points, ~20 s.
_SPICE_TOML = """
name = "behavioral_spice"
n_vectors = 6
repeats = 2
seed = 12
engines = ["nodal", "ngspice"]
ngspice_max_size = 16

[array]
sizes = [[8, 8], [16, 16]]
r_wire = [20.0, 80.0]

[[devices]]
kind = "linear"

[[devices]]
kind = "sinh"
v0 = 0.25

[[conductances]]
kind = "uniform"
g_min = 0.25e-6
g_max = 25e-6

[[inputs]]
kind = "sparse"
density = 0.3
v_read = 0.2
"""


def _run(tmp_path_factory, name: str, text: str) -> Path:
    from devicelab.spice.sweep.run import run_sweep

    folder = tmp_path_factory.mktemp(name)
    toml = folder / f"{name}.toml"
    toml.write_text(text)
    return run_sweep(toml, folder / f"{name}.h5", progress=False)


@pytest.fixture(scope="session")
def nodal_sweep(tmp_path_factory) -> Path:
    """A small linear sweep solved by the nodal solver only (8 points, ~1 s)."""
    return _run(tmp_path_factory, "nodal_sweep", _NODAL_TOML)


@pytest.fixture(scope="session")
def spice_sweep(tmp_path_factory) -> Path:
    """A small sweep with every point run through ngspice (16 points)."""
    return _run(tmp_path_factory, "spice_sweep", _SPICE_TOML)


# 1T1R cells behind the default and a weak access transistor (4.2 kohm on-resistance, 10 % of the 40 kohm ON
# device), linear and sinh devices; ngspice runs every point. 150 ohm wires make 12 x 12 arrays about as
# non-ideal as 128 x 128 with 2 ohm (the ideal model is 20-40 % off). 8 points.
_SPICE_1T1R_TOML = """
name = "behavioral_1t1r"
n_vectors = 6
repeats = 2
seed = 13
engines = ["nodal", "ngspice"]
ngspice_max_size = 16

[array]
sizes = [[12, 12]]
r_wire = [150.0]
cell = "1t1r"

[[transistors]]
v_gate = 1.8

[[transistors]]
v_gate = 0.9
w = 0.3e-6

[[devices]]
kind = "linear"

[[devices]]
kind = "sinh"
v0 = 0.25

[[conductances]]
kind = "uniform"
g_min = 0.25e-6
g_max = 25e-6

[[inputs]]
kind = "dnn"
v_read = 0.2
"""


@pytest.fixture(scope="session")
def spice_sweep_1t1r(tmp_path_factory) -> Path:
    """A small 1T1R sweep with every point run through ngspice (8 points)."""
    return _run(tmp_path_factory, "spice_sweep_1t1r", _SPICE_1T1R_TOML)


@pytest.fixture(scope="session")
def nodal_sweep_1t1r(tmp_path_factory) -> Path:
    """The 1T1R sweep above solved by the nodal solver only (8 points, ~2 s)."""
    text = _SPICE_1T1R_TOML.replace('engines = ["nodal", "ngspice"]', 'engines = ["nodal"]')
    return _run(tmp_path_factory, "nodal_sweep_1t1r", text.replace("behavioral_1t1r", "behavioral_1t1r_nodal"))
