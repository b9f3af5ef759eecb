"""Energy of one MVM in the crossbar circuit: closed forms, energy conservation, ngspice, the CLI.

Tolerances: closed forms and conservation 1e-9 relative (the nodal solver stops Newton at |dV| <= 1e-13 V +
1e-12 max|V|, so the power balance closes to ~1e-14 of the source power; 1e-9 leaves margin for sums over
thousands of elements); ngspice 1 % (the required agreement; observed ~1e-10 since the netlists set reltol=1e-9).
"""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from devicelab.cli import cli
from devicelab.errors import ConfigError
from devicelab.spice import AccessTransistor, CrossbarSpec
from devicelab.spice.crossbar.energy import (
    COMPONENTS,
    array_energy,
    ngspice_source_energy,
)

T_READ = 10e-9

CASES = {
    "linear": dict(r_row=2.0, r_col=2.0),
    "linear_driver_sense": dict(r_row=2.0, r_col=3.0, r_driver=50.0, r_sense=20.0),
    "sinh": dict(r_row=2.0, r_col=2.0, r_sense=10.0, device="sinh", v0=0.15),
    "differential_sinh": dict(r_row=2.0, r_col=2.0, r_driver=5.0, device="sinh", v0=0.2, differential=True),
    "1t1r_linear": dict(r_row=2.0, r_col=2.0, cell="1t1r"),
    "1t1r_sinh_lambda": dict(r_row=2.0, r_col=2.0, r_sense=5.0, cell="1t1r", device="sinh", v0=0.2,
                             transistor=AccessTransistor(v_gate=1.0, lambda_=0.05)),
}


def random_case(case, size, rng, n_vectors=4):
    spec = CrossbarSpec(size, size, **CASES[case])
    g = rng.uniform(0.25e-6, 25e-6, spec.g_shape)
    v = rng.uniform(-0.3, 0.3, (n_vectors, size))
    return spec, g, v


def test_single_cell_splits_the_series_circuit_energy():
    r_driver, r_sense, g, v = 100.0, 50.0, 1e-4, 0.2
    current = v / (r_driver + 1 / g + r_sense)
    energy = array_energy(CrossbarSpec(1, 1, r_driver=r_driver, r_sense=r_sense), [[g]], [[v]], T_READ)
    np.testing.assert_allclose(energy.source, T_READ * v * current, rtol=1e-9)
    np.testing.assert_allclose(energy.devices, T_READ * current**2 / g, rtol=1e-9)
    np.testing.assert_allclose(energy.drivers, T_READ * current**2 * r_driver, rtol=1e-9)
    np.testing.assert_allclose(energy.senses, T_READ * current**2 * r_sense, rtol=1e-9)


def test_ideal_array_dissipates_sum_of_g_v_squared_in_its_devices(rng):
    g = rng.uniform(1e-6, 20e-6, (5, 3))
    v = rng.uniform(-0.2, 0.2, (4, 5))
    energy = array_energy(CrossbarSpec(5, 3), g, v, T_READ)
    expected = T_READ * (v**2) @ g.sum(axis=1)
    np.testing.assert_allclose(energy.source, expected, rtol=1e-9)
    np.testing.assert_allclose(energy.devices, expected, rtol=1e-9)
    assert np.all(energy.wires == 0) and np.all(energy.drivers + energy.senses == 0)


def test_sinh_cell_draws_v_times_its_sinh_current():
    g, v0, v = 2e-5, 0.15, np.array([[0.3], [-0.1]])
    energy = array_energy(CrossbarSpec(1, 1, device="sinh", v0=v0), [[g]], v, T_READ)
    np.testing.assert_allclose(energy.source, T_READ * v[:, 0] * g * v0 * np.sinh(v[:, 0] / v0), rtol=1e-9)


@pytest.mark.parametrize("case", sorted(CASES))
def test_source_energy_equals_the_sum_of_dissipations(case, rng):
    energy = array_energy(*random_case(case, 16, rng), T_READ)
    assert energy.conservation_error < 1e-9
    assert np.all(energy.wires > 0)
    for name in COMPONENTS:
        assert np.all(getattr(energy, name) >= 0), name


def test_access_transistors_dissipate_and_are_reported_apart_from_the_devices(rng):
    energy = array_energy(*random_case("1t1r_linear", 8, rng), T_READ)
    assert np.all(energy.access_transistors > 0)
    np.testing.assert_array_equal(energy.cells, energy.devices + energy.access_transistors)
    passive = array_energy(*random_case("linear", 8, rng), T_READ)
    assert np.all(passive.access_transistors == 0)


def test_energy_is_proportional_to_t_read(rng):
    spec, g, v = random_case("sinh", 6, rng)
    np.testing.assert_allclose(array_energy(spec, g, v, 3 * T_READ).source,
                               3 * array_energy(spec, g, v, T_READ).source, rtol=1e-12)


def test_wire_energy_grows_with_wire_resistance(rng):
    _, g, v = random_case("linear", 8, rng)
    low = array_energy(CrossbarSpec(8, 8, r_row=1.0, r_col=1.0), g, v, T_READ)
    high = array_energy(CrossbarSpec(8, 8, r_row=4.0, r_col=4.0), g, v, T_READ)
    assert np.all(high.wires > low.wires)


@pytest.mark.parametrize("t_read", [0.0, -1e-9, float("nan")])
def test_non_positive_t_read_is_an_error_naming_t_read(t_read, rng):
    with pytest.raises(ConfigError, match="t_read"):
        array_energy(*random_case("linear", 2, rng), t_read)


@pytest.mark.spice
@pytest.mark.parametrize("case", sorted(CASES))
def test_nodal_energy_equals_ngspice_source_power_times_t_read_on_32x32(case, rng):
    spec, g, v = random_case(case, 32, rng)
    _, spice = ngspice_source_energy(spec, g, v, T_READ)
    nodal = array_energy(spec, g, v, T_READ)
    np.testing.assert_allclose(nodal.source, spice, rtol=0.01)


@pytest.fixture
def arrays(tmp_path, rng):
    np.save(tmp_path / "G.npy", rng.uniform(0.25e-6, 25e-6, (6, 4)))
    np.save(tmp_path / "V.npy", rng.uniform(0.0, 0.2, (3, 6)))
    return ["crossbar", "simulate", "--rows", "6", "--cols", "4", "--r-row", "2", "--r-col", "2",
            "--conductances", str(tmp_path / "G.npy"), "--inputs", str(tmp_path / "V.npy"),
            "-o", str(tmp_path / "I.npy")], tmp_path


def test_cli_energy_writes_json_next_to_the_output_and_prints_the_mean(arrays):
    args, folder = arrays
    result = CliRunner().invoke(cli, args + ["--energy", "--t-read", "1e-8"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    record = json.loads((folder / "I.energy.json").read_text())
    spec = CrossbarSpec(6, 4, r_row=2.0, r_col=2.0)
    expected = array_energy(spec, np.load(folder / "G.npy"), np.load(folder / "V.npy"), 1e-8)
    np.testing.assert_allclose(record["per_vector"]["source"], expected.source, rtol=1e-12)
    assert record["units"] == "J" and record["t_read_s"] == 1e-8
    assert f"source {np.mean(expected.source):.4g} J" in result.output


@pytest.mark.spice
def test_cli_energy_with_ngspice_stores_both_source_energies(arrays):
    args, folder = arrays
    result = CliRunner().invoke(cli, args + ["--engine", "ngspice", "--energy", "--t-read", "1e-8"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    record = json.loads((folder / "I.energy.json").read_text())
    np.testing.assert_allclose(record["per_vector"]["source"], record["per_vector"]["source_nodal"], rtol=0.01)


def test_cli_energy_needs_a_positive_t_read(arrays):
    args, folder = arrays
    missing = CliRunner().invoke(cli, args + ["--energy"])
    assert missing.exit_code == 2 and "--t-read" in missing.output
    zero = CliRunner().invoke(cli, args + ["--energy", "--t-read", "0"])
    assert zero.exit_code != 0 and "t_read" in zero.output
    assert not (folder / "I.npy").exists()
