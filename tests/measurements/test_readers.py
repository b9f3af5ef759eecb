"""Reading and writing canonical measurement files: round trips through every format, atomic writes."""

import gzip

import numpy as np
import pytest

from devicelab.devices import synthetic
from devicelab.devices.pcm import preset
from devicelab.errors import ConfigError
from devicelab.measurements import (
    IVTable,
    MeasurementTable,
    fileio,
    read_iv,
    read_measurements,
    write_iv,
    write_measurements,
)

MICRO = 1e-6


@pytest.fixture
def drift(rng) -> MeasurementTable:
    return synthetic.drift_table(preset("joshi2020"), [2 * MICRO, 20 * MICRO], 5, [1.0, 20.0, 3600.0], rng)


def assert_same_reads(a: MeasurementTable, b: MeasurementTable, rtol=0.0):
    np.testing.assert_array_equal(np.asarray(a.device_labels)[a.device], np.asarray(b.device_labels)[b.device])
    for column in ("g_target", "t", "g"):
        np.testing.assert_allclose(getattr(a, column), getattr(b, column), rtol=rtol, atol=0)
    assert (a.temperature is None) == (b.temperature is None)
    if a.temperature is not None:
        np.testing.assert_allclose(a.temperature, b.temperature, rtol=rtol, atol=0)


@pytest.mark.parametrize("name", ["run.csv", "run.tsv", "run.csv.gz", "run.tsv.gz", "run.h5"])
def test_every_format_round_trips_float64_exactly(drift, tmp_path, name):
    path = write_measurements(drift, tmp_path / name)
    back = read_measurements(path)
    assert_same_reads(drift, back)
    assert back.source == str(path)
    assert back.sha256 is not None and len(back.sha256) == 64


@pytest.mark.parametrize("name", ["bake.csv", "bake.h5"])
def test_temperature_column_round_trips(rng, tmp_path, name):
    model = preset("joshi2020").replace(activation_energy=0.2)
    bake = synthetic.bake_table(model, [10 * MICRO], 3, [20.0, 100.0], [300.0, 350.0], rng)
    assert_same_reads(bake, read_measurements(write_measurements(bake, tmp_path / name)))


@pytest.mark.parametrize("name", ["labels.csv", "labels.h5"])
def test_text_device_labels_are_kept(tmp_path, name):
    table = MeasurementTable(device=np.array([0, 0, 1]), g_target=np.full(3, 1e-6), t=np.array([1.0, 2.0, 1.0]),
                             g=np.full(3, 1e-6), device_labels=np.array(["die3/A7", "die3/B2"]))
    back = read_measurements(write_measurements(table, tmp_path / name))
    assert list(back.device_labels[back.device]) == ["die3/A7", "die3/A7", "die3/B2"]


def test_gzip_output_is_byte_reproducible(drift, tmp_path):
    a = write_measurements(drift, tmp_path / "a.csv.gz").read_bytes()
    b = write_measurements(drift, tmp_path / "b.csv.gz").read_bytes()
    assert a == b


def test_columns_are_found_by_name_in_any_order_and_extra_columns_are_ignored(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("operator,g,t,note,g_target,device\nann,1e-6,1,ok,2e-6,7\nbob,3e-6,2,\"a b\",2e-6,7\n")
    table = read_measurements(path)
    np.testing.assert_array_equal(table.g, [1e-6, 3e-6])
    np.testing.assert_array_equal(table.t, [1.0, 2.0])
    assert table.device_labels[table.device].tolist() == [7, 7]
    assert table.temperature is None


def test_comment_and_blank_lines_are_skipped(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("# written by tester 3\ndevice,g_target,t,g\n\n1,1e-6,1,1e-6\n# pause\n1,1e-6,2,2e-6\n\n")
    assert len(read_measurements(path)) == 2


def test_whitespace_separated_text_is_sniffed(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("device  g_target t g\n1 1e-6   1  1e-6\n2 1e-6 1 2e-6\n")
    np.testing.assert_array_equal(read_measurements(path).g, [1e-6, 2e-6])


def test_iv_sweeps_round_trip(rng, tmp_path):
    model = preset("joshi2020").replace(v0=0.3)
    iv = synthetic.iv_sweeps(model, [5 * MICRO], 3, np.linspace(-0.2, 0.2, 5), rng)
    back = read_iv(write_iv(iv, tmp_path / "iv.csv"))
    assert isinstance(back, IVTable)
    np.testing.assert_array_equal(back.v, iv.v)
    np.testing.assert_array_equal(back.i, iv.i)
    np.testing.assert_array_equal(back.g_target, iv.g_target)


def test_writer_rejects_unknown_extension_without_creating_a_file(drift, tmp_path):
    with pytest.raises(ConfigError, match=r"\.csv"):
        write_measurements(drift, tmp_path / "run.xlsx")
    assert list(tmp_path.iterdir()) == []


def test_writer_given_invalid_data_leaves_no_file(drift, tmp_path):
    bad = MeasurementTable(device=drift.device, g_target=drift.g_target, t=-drift.t, g=drift.g,
                           device_labels=drift.device_labels)
    for name in ("bad.csv", "bad.csv.gz", "bad.h5"):
        with pytest.raises(ConfigError, match="time must be >= 0"):
            write_measurements(bad, tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_writer_failing_midway_keeps_the_previous_file_and_leaves_no_temporary(drift, tmp_path, monkeypatch):
    path = write_measurements(drift, tmp_path / "run.h5")
    before = path.read_bytes()
    calls = []

    def failing_dataset(*args, **kwargs):
        calls.append(args[1])
        if len(calls) == 3:
            raise OSError("disk full (simulated)")
        return original(*args, **kwargs)

    original = fileio.write_dataset
    monkeypatch.setattr(fileio, "write_dataset", failing_dataset)
    with pytest.raises(OSError, match="simulated"):
        write_measurements(drift, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["run.h5"]


def test_gzip_text_is_read_whatever_the_extension(drift, tmp_path):
    text = write_measurements(drift, tmp_path / "run.csv").read_bytes()
    (tmp_path / "renamed.csv").write_bytes(gzip.compress(text))
    assert_same_reads(drift, read_measurements(tmp_path / "renamed.csv"))
