"""Foreign files load through a column/unit mapping given in TOML or as command-line strings."""

import numpy as np
import pytest

from devicelab.devices import synthetic
from devicelab.devices.pcm import preset
from devicelab.errors import ConfigError, InputFileError
from devicelab.measurements import UNITS, ColumnMapping, read_iv, read_measurements, time_series
from devicelab.measurements.units import unit_for

FOREIGN = """cell;G_uS;time_min;target_uS;T_C;operator
A1;2.5;0.5;2;25;ann
A1;2.4;60;2;25;ann
B7;9.8;0.5;10;85;bob
"""

FOREIGN_TOML = """
delimiter = ";"
[columns]
device = "cell"
g = "G_uS"
t = "time_min"
g_target = "target_uS"
temperature = "T_C"
[units]
g = "uS"
g_target = "uS"
t = "min"
temperature = "degC"
"""

CLI = ["device=cell", "g=G_uS:uS", "t=time_min:min", "g_target=target_uS:uS", "temperature=T_C:degC",
       "delimiter=;"]


@pytest.fixture
def foreign(tmp_path):
    path = tmp_path / "tester.txt"
    path.write_text(FOREIGN)
    return path


def test_foreign_file_is_converted_to_si(foreign, tmp_path):
    toml = tmp_path / "map.toml"
    toml.write_text(FOREIGN_TOML)
    table = read_measurements(foreign, ColumnMapping.from_toml(toml))
    np.testing.assert_allclose(table.g, [2.5e-6, 2.4e-6, 9.8e-6], rtol=1e-15)
    np.testing.assert_allclose(table.t, [30.0, 3600.0, 30.0], rtol=1e-15)
    np.testing.assert_allclose(table.temperature, [298.15, 298.15, 358.15], rtol=1e-15)
    assert table.device_labels[table.device].tolist() == ["A1", "A1", "B7"]


def test_cli_strings_and_toml_give_the_same_mapping(tmp_path):
    toml = tmp_path / "map.toml"
    toml.write_text(FOREIGN_TOML)
    assert ColumnMapping.from_cli(CLI) == ColumnMapping.from_toml(toml)


def test_headerless_file_maps_by_field_index_with_a_constant_temperature(tmp_path):
    path = tmp_path / "raw.dat"
    path.write_text("7 0.002 1 100\n7 0.002 10 101\n")  # device, g_target (mS), t (s), R (kohm)
    mapping = ColumnMapping.from_cli(["device=0", "g_target=1:mS", "t=2", "g=3:kohm", "temperature=@300:K",
                                      "header=no", "delimiter=whitespace"])
    table = read_measurements(path, mapping)
    np.testing.assert_allclose(table.g, [1 / 100e3, 1 / 101e3], rtol=1e-15)
    np.testing.assert_allclose(table.g_target, 2e-6, rtol=1e-15)
    np.testing.assert_array_equal(table.temperature, [300.0, 300.0])


def test_level_index_maps_linearly_to_target_conductance(tmp_path):
    path = tmp_path / "levels.csv"
    path.write_text("dev,level,t,g\n1,0,1,1e-6\n2,3,1,7e-6\n")
    mapping = ColumnMapping(columns={"device": "dev", "g_target": "level"}, units={"g_target": "uS"},
                            level_step=2.0, level_offset=0.5)
    np.testing.assert_allclose(read_measurements(path, mapping).g_target, [0.5e-6, 6.5e-6], rtol=1e-15)


def test_mapped_column_absent_from_header_names_the_source(foreign):
    err = pytest.raises(InputFileError, read_measurements, foreign,
                        ColumnMapping.from_cli([*CLI[:1], "g=Gx:uS", *CLI[2:]])).value
    assert err.field == "Gx" and "mapped to 'g'" in str(err)


@pytest.mark.parametrize(
    "items, message",
    [
        (["g=G:uSS"], "unknown unit 'uSS'"),
        (["t=time:uS"], "is a conductance unit"),
        (["conductance=G"], "unknown column mapping key"),
        (["layout=wide"], "sample rate"),
        (["header=maybe"], "yes or no"),
        (["g"], "KEY=VALUE"),
    ],
)
def test_invalid_cli_mapping_is_a_config_error(items, message):
    with pytest.raises(ConfigError, match=message):
        ColumnMapping.from_cli(items)


@pytest.mark.parametrize(
    "text, message",
    [
        ("[units]\ng = \"microsiemens\"\n", "unknown unit 'microsiemens'"),
        ("[columns]\nconductance = \"G\"\n", "unknown canonical column 'conductance'"),
        ("colums = 3\n", "unknown keys \\['colums'\\]"),
        ("[level]\nstep = 1e-6\nslope = 2\n", "unknown keys \\['slope'\\] in \\[level\\]"),
        ("header = \n", "not valid TOML"),
        ("header = \"no\"\n", "'header' must be bool"),
        ("[wide]\nfs = \"400 Hz\"\n", "'fs' must be a number"),
    ],
)
def test_invalid_toml_mapping_names_the_file(tmp_path, text, message):
    path = tmp_path / "map.toml"
    path.write_text(text)
    with pytest.raises(InputFileError, match=message) as info:
        ColumnMapping.from_toml(path)
    assert str(path) in str(info.value)


def test_mapping_a_column_the_table_does_not_have_is_rejected(foreign):
    with pytest.raises(InputFileError, match="does not have"):
        read_measurements(foreign, ColumnMapping.from_cli([*CLI, "v=cell:V"]))


@pytest.mark.parametrize(
    "column, unit, value, si",
    [("g", "mS", 2.0, 2e-3), ("g", "nS", 5.0, 5e-9), ("g", "Mohm", 2.0, 0.5e-6), ("g", "ohm", 4.0, 0.25),
     ("t", "ms", 3.0, 3e-3), ("t", "us", 3.0, 3e-6), ("t", "h", 2.0, 7200.0), ("t", "day", 1.0, 86400.0),
     ("temperature", "degC", -273.15, 0.0), ("v", "mV", 200.0, 0.2), ("i", "uA", 3.0, 3e-6)],
)
def test_units_convert_to_si(column, unit, value, si):
    assert unit_for(column, unit).to_si(np.array([value]))[0] == pytest.approx(si, rel=1e-15, abs=1e-12)


def test_every_unit_has_a_known_quantity():
    assert {u.quantity for u in UNITS.values()} == {"1", "conductance", "time", "temperature", "voltage",
                                                     "current"}


def test_wide_time_series_map_into_the_long_table(rng, tmp_path):
    model = preset("joshi2020")
    fs, n = 50.0, 256
    truth = synthetic.read_noise_series(model, [2e-6, 20e-6], n, fs, rng, devices_per_level=2)
    g = truth.g.reshape(4, n)
    lines = [f"{lvl}\t0\t" + "\t".join(f"{x:.17g}" for x in row * 1e6) for lvl, row in zip([1, 1, 10, 10], g)]
    path = tmp_path / "ts.tsv"
    path.write_text("\n".join(lines) + "\n")
    mapping = ColumnMapping(layout="wide", fs=fs, first_sample=2, header=False, columns={"g_target": 0},
                            units={"g": "uS", "g_target": "uS"}, level_step=2.0)
    assert mapping == ColumnMapping.from_cli(["layout=wide", "fs=50", "first_sample=2", "header=no",
                                              "g_target=0:uS", "g=:uS", "level_step=2"])
    table = read_measurements(path, mapping)
    np.testing.assert_allclose(table.g, truth.g, rtol=1e-15)
    np.testing.assert_array_equal(table.t, np.tile(np.arange(n) / fs, 4))
    np.testing.assert_allclose(table.levels(), [2e-6, 20e-6], rtol=1e-15)
    series = time_series(table)
    assert series.g.shape == (4, n) and series.fs == pytest.approx(fs, rel=1e-12)


def test_wide_bad_sample_names_line_and_sample(tmp_path):
    path = tmp_path / "ts.tsv"
    path.write_text("0\t1e-6\t1e-6\t1e-6\n1\t1e-6\t-1e-6\t1e-6\n")
    mapping = ColumnMapping(layout="wide", fs=10.0, first_sample=1, header=False, columns={"g_target": 0},
                            level_step=1e-6)
    err = pytest.raises(InputFileError, read_measurements, path, mapping).value
    assert err.row == 2 and "sample 1" in err.field


def test_wide_lines_of_different_length_are_rejected(tmp_path):
    path = tmp_path / "ts.tsv"
    path.write_text("0\t1e-6\t1e-6\n1\t1e-6\t1e-6\t1e-6\n")
    mapping = ColumnMapping(layout="wide", fs=10.0, first_sample=1, header=False, columns={"g_target": 0},
                            level_step=1e-6)
    assert pytest.raises(InputFileError, read_measurements, path, mapping).value.row == 2


def test_iv_file_with_foreign_units(tmp_path):
    path = tmp_path / "iv.csv"
    path.write_text("dut,V_mV,I_uA,junk\nd1,100,1.5,x\nd1,200,3.2,y\n")
    iv = read_iv(path, ColumnMapping.from_cli(["device=dut", "v=V_mV:mV", "i=I_uA:uA"]))
    np.testing.assert_allclose(iv.v, [0.1, 0.2], rtol=1e-15)
    np.testing.assert_allclose(iv.i, [1.5e-6, 3.2e-6], rtol=1e-15)
    assert iv.g_target is None


def test_iv_file_missing_current_is_rejected(tmp_path):
    path = tmp_path / "iv.csv"
    path.write_text("device,v\n1,0.1\n")
    assert pytest.raises(InputFileError, read_iv, path).value.field == "i"
