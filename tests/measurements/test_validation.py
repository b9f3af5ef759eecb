"""Every kind of bad measurement input is rejected with an InputFileError naming file, row and field."""

import gzip
import shutil

import h5py
import numpy as np
import pytest

from devicelab.devices import synthetic
from devicelab.devices.pcm import preset
from devicelab.errors import ConfigError, InputFileError
from devicelab.measurements import ColumnMapping, read_measurements, write_measurements

HEADER = "device,g_target,t,g\n"
GOOD = ["1,2e-6,1,2.1e-6", "1,2e-6,10,2.0e-6", "2,5e-6,1,5.2e-6", "2,5e-6,10,5.1e-6"]


def csv_with(tmp_path, replace: dict[int, str] | None = None, header=HEADER, name="run.csv"):
    """The GOOD file with some data rows (0-based) replaced."""
    rows = list(GOOD)
    for k, line in (replace or {}).items():
        rows[k] = line
    path = tmp_path / name
    path.write_text(header + "\n".join(rows) + "\n")
    return path


def rejected(path, mapping=None) -> InputFileError:
    with pytest.raises(InputFileError) as info:
        read_measurements(path, mapping)
    assert str(path) in str(info.value)
    return info.value


def test_good_file_is_accepted(tmp_path):
    assert len(read_measurements(csv_with(tmp_path))) == 4


def test_missing_column_names_the_column_and_what_the_header_has(tmp_path):
    err = rejected(csv_with(tmp_path, header="device,g_target,time,g\n"))
    assert err.field == "t" and "header has: device, g_target, time, g" in str(err)


@pytest.mark.parametrize("value, text", [("abc", "'abc' is not a number"), ("", "empty value")])
def test_non_numeric_value_names_row_and_field(tmp_path, value, text):
    err = rejected(csv_with(tmp_path, {2: f"2,5e-6,1,{value}"}))
    assert (err.row, err.field) == (3, "g") and text in str(err)


def test_too_few_fields_names_the_row(tmp_path):
    err = rejected(csv_with(tmp_path, {1: "1,2e-6,10"}))
    assert err.row == 2 and "3 fields" in str(err)


def test_nan_is_rejected(tmp_path):
    err = rejected(csv_with(tmp_path, {3: "2,5e-6,nan,5.1e-6"}))
    assert (err.row, err.field) == (4, "t") and "NaN" in str(err)


def test_negative_time_is_rejected(tmp_path):
    err = rejected(csv_with(tmp_path, {1: "1,2e-6,-10,2.0e-6"}))
    assert (err.row, err.field) == (2, "t") and ">= 0 s" in str(err)


def test_negative_conductance_is_rejected(tmp_path):
    err = rejected(csv_with(tmp_path, {0: "1,2e-6,1,-2.1e-6"}))
    assert (err.row, err.field) == (1, "g")


def test_absurd_conductance_suggests_a_unit_mistake(tmp_path):
    err = rejected(csv_with(tmp_path, {2: "2,5,1,5.2e-6"}))  # 5 S: uS values given as S
    assert (err.row, err.field) == (3, "g_target") and "wrong unit?" in str(err)


def test_first_bad_row_wins_across_fields(tmp_path):
    err = rejected(csv_with(tmp_path, {1: "1,2e-6,10,-1", 3: "2,5e-6,-1,5.1e-6"}))
    assert (err.row, err.field) == (2, "g")


def test_duplicate_read_names_both_rows(tmp_path):
    err = rejected(csv_with(tmp_path, {3: "2,5e-6,1,5.3e-6"}))
    assert (err.row, err.field) == (4, "t") and "device 2" in str(err) and "row 3" in str(err)


def test_row_numbers_count_data_rows_only(tmp_path):
    path = tmp_path / "run.csv"
    path.write_text("# comment\n" + HEADER + "\n".join(GOOD[:2]) + "\n\n# note\n" + "2,5e-6,1,oops\n")
    assert rejected(path).row == 3


@pytest.mark.parametrize("content", ["", "\n\n", "# only a comment\n"])
def test_empty_file_is_rejected(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_text(content)
    assert "empty" in str(rejected(path))


def test_header_without_rows_is_rejected(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text(HEADER)
    assert "no data rows" in str(rejected(path))


def test_bad_value_deep_in_a_large_file_is_located(tmp_path, rng):
    # The first bad line is found by halving; check it on 20,000 rows with the error at row 13,579.
    n = 20_000
    lines = [f"{k},1e-6,1,{v:.6e}" for k, v in enumerate(rng.uniform(1e-6, 2e-6, n))]
    lines[13_578] = "13578,1e-6,1,1.2e-6x"
    lines[17_000] = "17000,1e-6,1,zzz"
    path = tmp_path / "big.csv"
    path.write_text(HEADER + "\n".join(lines) + "\n")
    err = rejected(path)
    assert (err.row, err.field) == (13_579, "g") and "1.2e-6x" in str(err)


def test_truncated_gzip_is_rejected(tmp_path):
    data = gzip.compress((HEADER + "\n".join(GOOD * 50) + "\n").encode())
    path = tmp_path / "run.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    assert "truncated or corrupt gzip" in str(rejected(path))


def test_corrupt_gzip_is_rejected(tmp_path):
    path = tmp_path / "run.csv.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + bytes(range(200)))
    assert "gzip" in str(rejected(path))


def test_binary_file_is_rejected(tmp_path):
    path = tmp_path / "run.csv"
    path.write_bytes(b"device,g\n\xff\xfe\x00\x01")
    assert "not UTF-8" in str(rejected(path))


@pytest.fixture
def h5_file(tmp_path, rng):
    table = synthetic.drift_table(preset("joshi2020"), [5e-6], 200, [1.0, 10.0, 100.0], rng)
    return write_measurements(table, tmp_path / "run.h5")


def test_truncated_hdf5_is_rejected(h5_file):
    data = h5_file.read_bytes()
    h5_file.write_bytes(data[: len(data) // 2])
    assert "HDF5" in str(rejected(h5_file))


def test_corrupt_hdf5_is_rejected(tmp_path):
    path = tmp_path / "run.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 64)
    assert "HDF5" in str(rejected(path))


def test_hdf5_of_another_format_is_rejected(h5_file):
    with h5py.File(h5_file, "r+") as fh:
        fh.attrs["format"] = "devicelab-pcm-model"
    assert "devicelab-measurements" in str(rejected(h5_file))


def test_hdf5_without_units_is_rejected(h5_file):
    with h5py.File(h5_file, "r+") as fh:
        del fh["t"].attrs["units"]
    err = rejected(h5_file)
    assert err.field == "t" and "units" in str(err)


def test_hdf5_values_are_validated_too(h5_file):
    with h5py.File(h5_file, "r+") as fh:
        g = fh["g"][()]
        g[7] = np.nan
        fh["g"][...] = g
    assert (rejected(h5_file).row, rejected(h5_file).field) == (8, "g")


def test_hdf5_units_are_converted(h5_file):
    before = read_measurements(h5_file)
    with h5py.File(h5_file, "r+") as fh:
        fh["g"][...] = fh["g"][()] * 1e6
        fh["g"].attrs["units"] = "uS"
    np.testing.assert_allclose(read_measurements(h5_file).g, before.g, rtol=1e-15)


def test_drop_mode_drops_invalid_reads_and_counts_them(tmp_path):
    path = csv_with(tmp_path, {0: "1,2e-6,1,-2.1e-6", 3: "2,5e-6,10,nan"})
    table = read_measurements(path, ColumnMapping(invalid_rows="drop"))
    assert len(table) == 2 and table.n_dropped == 2
    np.testing.assert_array_equal(table.g, [2.0e-6, 5.2e-6])


def test_drop_mode_still_rejects_duplicates_and_parse_errors(tmp_path):
    drop = ColumnMapping(invalid_rows="drop")
    assert "duplicate" in str(rejected(csv_with(tmp_path, {3: "2,5e-6,1,5.3e-6"}), drop))
    assert rejected(csv_with(tmp_path, {3: "2,5e-6,1,x"}), drop).row == 4


def test_drop_mode_reports_rows_as_numbered_in_the_file(tmp_path):
    err = rejected(csv_with(tmp_path, {0: "1,2e-6,1,nan", 3: "2,5e-6,1,5.3e-6"}), ColumnMapping(invalid_rows="drop"))
    assert "duplicate" in str(err) and err.row == 4 and "row 3" in str(err)


def test_nan_device_id_is_rejected(tmp_path):
    err = rejected(csv_with(tmp_path, {2: "nan,5e-6,1,5.2e-6"}))
    assert (err.row, err.field) == (3, "device")


def test_empty_device_id_is_rejected(tmp_path):
    err = rejected(csv_with(tmp_path, {1: ",2e-6,10,2.0e-6"}))
    assert (err.row, err.field) == (2, "device")


def test_mixed_numeric_and_text_device_ids_are_kept_as_text(tmp_path):
    table = read_measurements(csv_with(tmp_path, {2: "A1,5e-6,1,5.2e-6", 3: "A1,5e-6,10,5.1e-6"}))
    assert table.device_labels[table.device].tolist() == ["1", "1", "A1", "A1"]


def test_hdf5_datasets_can_be_renamed_by_a_mapping_but_not_re_united(h5_file, tmp_path):
    renamed = tmp_path / "renamed.h5"
    shutil.copy(h5_file, renamed)
    with h5py.File(renamed, "r+") as fh:
        fh.move("g", "G_read")
    assert len(read_measurements(renamed, ColumnMapping(columns={"g": "G_read"}))) == 600
    with pytest.raises(ConfigError, match="carry their own units"):
        read_measurements(renamed, ColumnMapping(columns={"g": "G_read"}, units={"g": "uS"}))
