"""Periphery energy, latency and area of a tile, and the energy-per-operation table files.

Closed forms are checked to 1e-12 relative (they are the same float operations in another order).
"""

import math
from importlib import resources

import numpy as np
import pytest

from devicelab.behavioral.adc import ideal_adc
from devicelab.behavioral.energy_table import (
    REQUIRED_OPERATIONS,
    UNITS,
    load_energy_table,
    parse_energy_table,
)
from devicelab.behavioral.periphery import (
    EnergyBreakdown,
    PeripheryModel,
    adc_costs,
    dac_energy,
    mvm_latency,
    sense_energy,
    tile_area,
    tile_mvm_energy,
)
from devicelab.errors import ConfigError, InputFileError
from devicelab.spice import CrossbarSpec


@pytest.fixture(scope="module")
def table():
    return load_energy_table()


def table_text(**changes) -> str:
    """The shipped table with top-level lines replaced (key -> new line, or None to drop it)."""
    lines = []
    text = (resources.files("devicelab") / "data" / "energy" / "digital_45nm.toml").read_text()
    for line in text.splitlines():
        key = line.split("=")[0].strip()
        if key in changes:
            if changes[key] is not None:
                lines.append(changes[key])
            continue
        lines.append(line)
    return "\n".join(lines) + "\n"


def test_shipped_table_has_every_operation_in_si_units(table):
    assert set(REQUIRED_OPERATIONS) <= set(table.operations)
    assert table.energy("scale") == pytest.approx(1.1e-12)  # 1.1 pJ FP16 multiply (Horowitz 2014)
    assert table.operations["scale"].area == pytest.approx(1640e-12)
    assert table.clock_frequency == pytest.approx(1e9)
    assert "Horowitz" in table.source


def test_table_units_are_converted_to_si(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text(table_text().replace('energy = "pJ"', 'energy = "fJ"'))
    converted = load_energy_table(path)
    assert converted.energy("scale") == pytest.approx(1.1e-15)
    assert set(UNITS["energy"]) >= {"J", "pJ", "fJ"}


def test_table_with_a_missing_operation_names_it(tmp_path):
    text = table_text().replace("[operations.bias]", "[unused_bias]")
    path = tmp_path / "t.toml"
    path.write_text(text)
    with pytest.raises(InputFileError, match="operations.bias"):
        load_energy_table(path)


def test_table_with_an_unknown_unit_names_the_field(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text(table_text().replace('energy = "pJ"', 'energy = "kcal"'))
    with pytest.raises(InputFileError, match="units.energy.*kcal"):
        load_energy_table(path)


@pytest.mark.parametrize("bad", ["0", "-0.4"])
def test_table_with_a_non_positive_energy_names_the_field(tmp_path, bad):
    path = tmp_path / "t.toml"
    path.write_text(table_text().replace("energy = 0.4", f"energy = {bad}", 1))
    with pytest.raises(InputFileError, match=r"operations\.accumulate\.energy"):
        load_energy_table(path)


def test_table_of_another_format_version_is_refused(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text(table_text(format_version="format_version = 2"))
    with pytest.raises(InputFileError, match="format_version"):
        load_energy_table(path)


def test_parse_requires_the_format_field():
    with pytest.raises(InputFileError, match="format"):
        parse_energy_table({"format_version": 1})


@pytest.mark.parametrize("field", ["t_read", "c_wire", "feature_size", "v_dd"])
@pytest.mark.parametrize("value", [0.0, -1e-9])
def test_non_positive_periphery_parameters_name_the_field(field, value):
    with pytest.raises(ConfigError, match=field):
        PeripheryModel(**{field: value})


def test_adc_sharing_must_be_a_positive_integer():
    with pytest.raises(ConfigError, match="adc_sharing"):
        PeripheryModel(adc_sharing=0)


def test_cell_area_and_wire_capacitance_follow_the_pitch():
    model = PeripheryModel(feature_size=45e-9, cell_width_f=12, cell_height_f=4, c_wire=0.2e-9)
    assert model.cell_area == pytest.approx(48 * 45e-9**2, rel=1e-12)
    assert model.c_row_per_cell == pytest.approx(0.2e-9 * 12 * 45e-9, rel=1e-12)
    assert model.c_col_per_cell == pytest.approx(0.2e-9 * 4 * 45e-9, rel=1e-12)


def test_full_scale_row_draws_c_v_squared_from_a_rail_at_v_read():
    model = PeripheryModel(driver_quiescent=0.0)
    # no current: only the line charge, C v_read |V| = C V^2 at full scale
    assert dac_energy(model, 0.2, 1e-13, 0.2, 0.0, 0.0, 1) == pytest.approx(1e-13 * 0.2**2, rel=1e-12)


def test_driver_at_full_scale_loses_nothing_but_below_it_drops_the_rest_of_the_rail():
    model = PeripheryModel(driver_quiescent=0.0, t_read=1e-8)
    current = 1e-5
    full = dac_energy(model, 0.2, 0.0, 0.2, current, 0.2 * current, 1)
    half = dac_energy(model, 0.2, 0.0, 0.1, current, 0.1 * current, 1)
    assert full == pytest.approx(0.0, abs=1e-30)
    assert half == pytest.approx(1e-8 * 0.1 * current, rel=1e-12)


def test_sense_energy_counts_bias_and_column_charge_sunk_half_a_rail_down():
    model = PeripheryModel(t_read=1e-8, v_dd=1.0, sense_bias=2e-6)
    assert sense_energy(model, 3, 1e-5) == pytest.approx(1e-8 * (3 * 2e-6 + 0.5 * 1e-5), rel=1e-12)
    split = PeripheryModel(t_read=1e-8, v_dd=1.0, sense_bias=0.0, v_sink=1.0)
    assert sense_energy(split, 3, 1e-5) == pytest.approx(1e-8 * 1e-5, rel=1e-12)


def test_spice_adc_costs_are_used_and_ideal_adcs_fall_back_to_neurosim():
    from dataclasses import replace
    spice = replace(ideal_adc(6, 0.0, 1.0), energy_per_conversion=3e-12, t_conversion=140e-9)
    costs = adc_costs(spice, 6, 1e9)
    assert (costs.energy, costs.time) == (3e-12, 140e-9) and "SPICE" in costs.source
    fallback = adc_costs(ideal_adc(8, 0.0, 1.0), 8, 1e9)
    assert fallback.time == pytest.approx(9e-9)  # (bits + 1) cycles at 1 GHz
    assert fallback.energy == pytest.approx((2.1691e-6 * 8 + 16.693e-6) * 9e-9)
    assert "NeuroSim" in fallback.source


def test_shared_adc_multiplies_the_conversion_time():
    adc = adc_costs(ideal_adc(8, 0.0, 1.0), 8, 1e9)
    one = mvm_latency(PeripheryModel(adc_sharing=1), adc, 64, 3, 1e9)
    eight = mvm_latency(PeripheryModel(adc_sharing=8), adc, 64, 24, 1e9)
    assert eight["adc"] == pytest.approx(8 * one["adc"])
    assert eight["digital"] == pytest.approx(24e-9)
    assert eight["total"] == pytest.approx(eight["read"] + eight["adc"] + eight["digital"])


def test_tile_area_adds_cells_and_periphery(table):
    model = PeripheryModel(adc_sharing=4)
    area = tile_area(model, table, 256, 512, 256, 8)
    assert area["cells"] == pytest.approx(256 * 512 * model.cell_area)
    assert area["adc"] == pytest.approx(64 * table.adc_area(8))
    assert area["total"] == pytest.approx(sum(v for k, v in area.items() if k != "total"))


def test_breakdown_adds_and_scales():
    a = EnergyBreakdown(1.0, 2.0, 3.0, 4.0, 5.0, 6.0)
    assert (a + a).total == pytest.approx(42.0)
    assert a.scaled(0.5).to_dict()["adc"] == 2.5


def test_tile_energy_of_an_ideal_array_is_its_conductance_sum(table, rng):
    spec = CrossbarSpec(8, 4)
    g = rng.uniform(1e-6, 20e-6, (8, 4))
    v = rng.uniform(0.0, 0.2, (3, 8))
    model = PeripheryModel(driver_quiescent=0.0, sense_bias=0.0)
    breakdown, circuit = tile_mvm_energy(spec, g, v, 0.2, model, table, ideal_adc(8, 0.0, 1.0))
    np.testing.assert_allclose(breakdown.array, model.t_read * (v**2) @ g.sum(axis=1), rtol=1e-9)
    assert np.all(breakdown.wires == 0)
    # the rail delivers v_read * sum |I| * t_read = array + driver conduction loss
    rail = 0.2 * model.t_read * np.abs(circuit.row_currents).sum(axis=1)
    line = 4 * model.c_row_per_cell * 0.2 * v.sum(axis=1)
    np.testing.assert_allclose(breakdown.array + breakdown.dac, rail + line, rtol=1e-9)
    assert math.isclose(breakdown.adc[0], 4 * adc_costs(ideal_adc(8, 0.0, 1.0), 8, 1e9).energy)


def test_tile_energy_needs_an_adc_model(table):
    with pytest.raises(ConfigError, match="adc_model"):
        tile_mvm_energy(CrossbarSpec(2, 2), np.full((2, 2), 1e-6), [[0.1, 0.1]], 0.2, PeripheryModel(), table)
