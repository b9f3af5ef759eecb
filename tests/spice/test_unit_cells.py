"""Multi-device unit cells (N devices per polarity, significance factors) in the crossbar layout: physical
columns, simulated identically by the netlist (ngspice) and the nodal solver."""

import numpy as np
import pytest

from devicelab.errors import ConfigError
from devicelab.spice import CrossbarSpec, simulate_ngspice, solve_nodal
from devicelab.spice.crossbar.spec import (
    ideal_outputs,
    output_matrix,
    physical_conductances,
)


def test_each_logical_column_is_a_block_of_adjacent_physical_columns():
    spec = CrossbarSpec(3, 2, differential=True, devices_per_polarity=2)
    g = np.arange(np.prod(spec.g_shape), dtype=float).reshape(spec.g_shape)  # (polarity, slot, rows, cols)
    phys = physical_conductances(spec, g)
    assert spec.g_shape == (2, 2, 3, 2) and phys.shape == (3, 8)
    for j in range(2):
        for s in range(2):
            for k in range(2):
                np.testing.assert_array_equal(phys[:, j * 4 + s * 2 + k], g[s, k, :, j])


def test_single_device_layouts_are_unchanged():
    pair = CrossbarSpec(2, 3, differential=True)
    assert pair.g_shape == (2, 2, 3) and pair.significance == (1.0,)
    expected = np.zeros((6, 3))
    expected[0::2] = np.eye(3)
    expected[1::2] = -np.eye(3)
    np.testing.assert_array_equal(output_matrix(pair), expected)
    assert CrossbarSpec(2, 3).g_shape == (2, 3)


def test_output_is_the_significance_weighted_average_of_the_device_pairs():
    # no wire resistance: every column sees its own V.G exactly, so the outputs have a closed form
    spec = CrossbarSpec(4, 3, differential=True, devices_per_polarity=2, significance=(3.0, 1.0))
    rng = np.random.default_rng(1)
    g = rng.uniform(1e-6, 2e-5, spec.g_shape)
    v = rng.uniform(0, 0.2, (5, 4))
    expected = (3 * v @ (g[0, 0] - g[1, 0]) + v @ (g[0, 1] - g[1, 1])) / 4
    np.testing.assert_allclose(solve_nodal(spec, g, v), expected, rtol=1e-12)
    np.testing.assert_allclose(ideal_outputs(spec, g, v), expected, rtol=1e-12)


def test_equal_devices_average_to_the_single_device_output():
    single = CrossbarSpec(4, 2, differential=True)
    quad = CrossbarSpec(4, 2, differential=True, devices_per_polarity=4)
    rng = np.random.default_rng(2)
    g = rng.uniform(1e-6, 2e-5, single.g_shape)
    v = rng.uniform(0, 0.2, (3, 4))
    g4 = np.repeat(g[:, None], 4, axis=1)
    np.testing.assert_allclose(ideal_outputs(quad, g4, v), ideal_outputs(single, g, v), rtol=1e-12)


@pytest.mark.spice
@pytest.mark.parametrize("cell", ["passive", "1t1r"])
def test_ngspice_and_the_nodal_solver_agree_on_a_multi_device_layout(cell):
    # 1e-9 relative: both stop Newton far below it (see test_ngspice_crossbar)
    spec = CrossbarSpec(6, 3, 2.0, 2.0, cell=cell, device="sinh", v0=0.25, differential=True,
                        devices_per_polarity=2, significance=(2.0, 1.0))
    rng = np.random.default_rng(3)
    g = rng.uniform(1e-6, 2.5e-5, spec.g_shape)
    v = rng.uniform(-0.2, 0.2, (4, 6))
    i_spice = simulate_ngspice(spec, g, v)
    np.testing.assert_allclose(solve_nodal(spec, g, v), i_spice, rtol=1e-9, atol=1e-9 * np.abs(i_spice).max())


@pytest.mark.parametrize("kwargs, message", [
    ({"devices_per_polarity": 0}, r"devices_per_polarity: expected an integer in \[1, 64\]"),
    ({"devices_per_polarity": 1.5}, r"devices_per_polarity: expected an integer"),
    ({"devices_per_polarity": 2, "significance": (1.0,)}, r"significance: expected 2 factors"),
    ({"devices_per_polarity": 2, "significance": (1.0, -1.0)}, r"significance: every factor must be finite and > 0"),
    ({"devices_per_polarity": 2, "significance": (1.0, float("nan"))}, r"significance: every factor"),
    ({"devices_per_polarity": 2, "significance": "big"}, r"significance: expected"),
])
def test_bad_unit_cells_are_errors_naming_the_option(kwargs, message):
    with pytest.raises(ConfigError, match=r"CrossbarSpec\." + message):
        CrossbarSpec(2, 2, differential=True, **kwargs)


def test_spec_round_trips_through_a_dict():
    spec = CrossbarSpec(2, 2, differential=True, devices_per_polarity=2, significance=(4.0, 1.0))
    assert CrossbarSpec.from_dict(spec.to_dict()) == spec
