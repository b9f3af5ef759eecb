"""Specification of the pulse-trace table and its readers (long and wide layouts)."""

import numpy as np
import pytest

from devicelab.errors import ConfigError, InputFileError
from devicelab.measurements.pulses import (
    RESET,
    SET,
    PulseMapping,
    read_pulse_ramps_wide,
    read_pulse_table,
    read_pulse_trains,
)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_wide_layout_converts_read_current_to_conductance_and_allows_ragged_ramps(tmp_path):
    path = write(tmp_path, "set.csv", "rmp1,rmp2\n1e-5,2e-5\n1.1e-5,2.2e-5\n1.2e-5,\n")
    table = read_pulse_ramps_wide(path, "SET", v_read=0.1)
    assert len(table) == 5
    np.testing.assert_allclose(np.sort(table.g), np.sort([1e-4, 1.1e-4, 1.2e-4, 2e-4, 2.2e-4]), rtol=1e-12)
    assert set(table.ramp) == {1, 2} and np.all(table.polarity == SET)
    steps = table.steps(SET)
    np.testing.assert_allclose(np.sort(steps["dg"]), [1e-5, 1e-5, 2e-5], rtol=1e-9)


def test_wide_layout_rejects_a_ramp_that_resumes_after_an_empty_cell(tmp_path):
    path = write(tmp_path, "set.csv", "rmp1,rmp2\n1e-5,2e-5\n,2.2e-5\n1.2e-5,2.3e-5\n")
    with pytest.raises(InputFileError) as err:
        read_pulse_ramps_wide(path, "SET")
    assert err.value.row == 3 and err.value.field == "rmp1"


def test_wide_layout_names_row_and_field_of_a_bad_number(tmp_path):
    path = write(tmp_path, "reset.csv", "rmp1,rmp2\n1e-5,2e-5\n1e-5,abc\n")
    with pytest.raises(InputFileError, match="expected a number") as err:
        read_pulse_ramps_wide(path, "RESET")
    assert (err.value.row, err.value.field) == (2, "rmp2")


def test_wide_layout_with_currents_needs_a_read_voltage(tmp_path):
    path = write(tmp_path, "set.csv", "rmp1\n1e-5\n")
    with pytest.raises(ConfigError, match="v_read"):
        read_pulse_ramps_wide(path, "SET", v_read=0.0)


def test_long_layout_maps_columns_and_units(tmp_path):
    text = "cell,r,k,pol,I_uA,V_mV\nA,0,0,SET,10,100\nA,0,1,SET,12,100\nB,3,0,reset,20,200\n"
    path = write(tmp_path, "p.csv", text)
    mapping = PulseMapping.from_cli(["device=cell", "ramp=r", "pulse=k", "polarity=pol", "i=I_uA:uA", "v=V_mV:mV"])
    table = read_pulse_table(path, mapping)
    np.testing.assert_allclose(table.g, [1e-4, 1.2e-4, 1e-4], rtol=1e-12)
    np.testing.assert_array_equal(table.polarity, [SET, SET, RESET])
    assert list(table.device_labels) == ["A", "B"] and table.n_devices == 2


def test_long_layout_reports_missing_columns_and_bad_polarity(tmp_path):
    path = write(tmp_path, "p.csv", "ramp,pulse,g\n0,0,1e-6\n")
    with pytest.raises(InputFileError, match="polarity"):
        read_pulse_table(path)
    path = write(tmp_path, "q.csv", "ramp,pulse,polarity,g\n0,0,SET,1e-6\n0,1,up,2e-6\n")
    with pytest.raises(InputFileError) as err:
        read_pulse_table(path)
    assert (err.value.row, err.value.field) == (2, "polarity")


def test_long_layout_rejects_negative_conductance_and_zero_read_voltage(tmp_path):
    path = write(tmp_path, "p.csv", "ramp,pulse,polarity,g\n0,0,SET,1e-6\n0,1,SET,-2e-6\n")
    with pytest.raises(InputFileError, match=">= 0 S") as err:
        read_pulse_table(path)
    assert err.value.row == 2
    path = write(tmp_path, "q.csv", "ramp,pulse,polarity,i,v\n0,0,SET,1e-6,0\n")
    with pytest.raises(InputFileError, match="0 V"):
        read_pulse_table(path)


def test_long_layout_accepts_a_constant_read_voltage_and_names_bad_numbers(tmp_path):
    path = write(tmp_path, "p.csv", "ramp,pulse,polarity,I\n0,0,SET,1e-5\n0,1,SET,2e-5\n")
    table = read_pulse_table(path, PulseMapping.from_cli(["i=I:A", "v=@100:mV"]))
    np.testing.assert_allclose(table.g, [1e-4, 2e-4], rtol=1e-12)
    path = write(tmp_path, "q.csv", "ramp,pulse,polarity,g\n0,0,SET,1e-6\n0,x,SET,2e-6\n")
    with pytest.raises(InputFileError) as err:
        read_pulse_table(path)
    assert (err.value.row, err.value.field) == (2, "pulse")


def test_pulse_mapping_rejects_columns_pulse_files_do_not_have():
    with pytest.raises(ConfigError, match="unknown columns"):
        PulseMapping.from_cli(["t=time:s"])


def test_real_pulse_trains_are_read_as_one_device_with_set_and_reset_ramps(shared_data):
    table = read_pulse_trains(shared_data / "pulse-trains")
    assert table.n_devices == 1
    assert np.unique(table.ramp[table.polarity == SET]).size == 39
    assert np.unique(table.ramp[table.polarity == RESET]).size == 40
    # README: currents of ~0.16-0.25 mA read at 0.1 V, i.e. conductances of ~1.6-2.5 mS.
    assert 1.5e-3 < table.g.min() < 1.7e-3 and 2.4e-3 < table.g.max() < 2.6e-3
    assert np.mean(table.steps(SET)["dg"]) > 0 > np.mean(table.steps(RESET)["dg"])
