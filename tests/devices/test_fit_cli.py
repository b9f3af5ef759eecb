"""`devicelab fit` and `devicelab model` end to end on the shipped example files (measurements/)."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from devicelab.cli import cli
from devicelab.devices import load_model, preset
from devicelab.errors import ValidityRangeWarning

EXAMPLES = Path(__file__).resolve().parents[2] / "measurements"
TRUTH = json.loads((EXAMPLES / "truth_model.json").read_text())


def _run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return result


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    out = tmp_path_factory.mktemp("fit")
    args = ["fit", EXAMPLES / "program_run.csv", EXAMPLES / "drift_run.csv", EXAMPLES / "bake_run.csv",
            EXAMPLES / "iv_run.csv", EXAMPLES / "read_noise.tsv.gz",
            "--mapping", f"{EXAMPLES / 'read_noise.tsv.gz'}={EXAMPLES / 'mappings' / 'example_read_noise.toml'}",
            "--t0", "10", "--t-read", "1e-6", "-o", out / "model.h5", "--report", out / "report"]
    result = _run(*args)
    assert result.exit_code == 0, result.output
    return out, result.output


def test_fit_writes_model_and_report(fitted):
    out, output = fitted
    assert "model:" in output and (out / "model.h5").is_file()
    for name in ("report.md", "report.html", "drift.png", "sigma_prog.png", "nu.png", "psd.png", "read_noise.png"):
        assert (out / "report" / name).stat().st_size > 0, name
    md = (out / "report" / "report.md").read_text()
    assert "## Parameters" in md and "±" in md


def test_fitted_example_model_is_close_to_the_stated_truth(fitted):
    # small example files (40 devices/level drift, 100/level programming): loose, stated tolerances
    model = load_model(fitted[0] / "model.h5")
    assert model.g_max == pytest.approx(TRUTH["g_max"])
    assert model.v0 == pytest.approx(TRUTH["v0"], rel=0.03)
    assert model.read_noise.c == pytest.approx(TRUTH["read_noise"]["c"], rel=0.1)
    assert model.activation_energy == pytest.approx(TRUTH["activation_energy"], abs=0.1)
    levels = np.array([5e-6, 12e-6, 24e-6])
    truth = type(model).from_dict(TRUTH)
    np.testing.assert_allclose(model.nu_stats(levels)[0], truth.nu_stats(levels)[0], rtol=0.15)
    np.testing.assert_allclose(model.sigma_prog(levels), truth.sigma_prog(levels), rtol=0.25)


def test_model_file_records_input_hashes(fitted):
    result = _run("model", "show", fitted[0] / "model.h5", "--json")
    info = json.loads(result.output)
    hashes = {i["sha256"] for i in info["provenance"]["inputs"]}
    assert len(hashes) == 5 and all(len(h) == 64 for h in hashes)
    assert info["units"]["g_max"] == "S"
    assert "sigma_prog" in info["fits"]


def test_model_show_prints_values_with_uncertainties(fitted):
    result = _run("model", "show", fitted[0] / "model.h5")
    assert result.exit_code == 0
    assert "activation_energy" in result.output and "+/-" in result.output and " eV" in result.output


def test_model_sample_from_preset_has_the_preset_spread(tmp_path):
    # 4000 devices at t0 = 20 s: read at t0 is G_prog + read noise; sample std has 1.1 % relative error -> 5 %
    out = tmp_path / "s.csv"
    result = _run("model", "sample", "--preset", "joshi2020", "--g-target", "10e-6", "--t", "20", "--n", "4000",
                  "--seed", "3", "-o", out)
    assert result.exit_code == 0, result.output
    with open(out) as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["g_target", "t", "g"]
    g = np.array([float(r["g"]) for r in rows])
    model = preset("joshi2020")
    expected = np.hypot(model.sigma_prog(10e-6), 10e-6 * model.read_noise_sigma(10e-6, 20.0))
    assert g.std() == pytest.approx(expected, rel=0.05)


def test_model_sample_from_file_covers_every_target_and_time(fitted, tmp_path):
    out = tmp_path / "s.csv"
    # 1 uS is below the example data's lowest level (1.5 uS): sampled, with a validity warning
    with pytest.warns(ValidityRangeWarning, match=r"extrapolates"):
        result = _run("model", "sample", fitted[0] / "model.h5", "--g-target", "1e-6,5e-6", "--t", "20,3600",
                      "--n", "7", "-o", out)
    assert result.exit_code == 0, result.output
    data = np.loadtxt(out, delimiter=",", skiprows=1)
    assert data.shape == (2 * 2 * 7, 3)
    assert set(data[:, 1]) == {20.0, 3600.0}


def test_model_sample_warning_names_only_what_is_outside_the_fitted_range(fitted, tmp_path):
    with pytest.warns(ValidityRangeWarning) as caught:
        _run("model", "sample", fitted[0] / "model.h5", "--g-target", "1e-6", "--t", "20", "--n", "2",
             "-o", tmp_path / "s.csv")
    message = str(caught[0].message)
    assert "1e-06 S" in message and "extrapolates" in message  # the target outside, nothing else
    assert "t [] s" not in message and " / t " not in message


def test_bad_input_file_gives_one_line_error_and_no_model(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("device,g_target,t,g\n0,1e-6,20,abc\n")
    out = tmp_path / "m.h5"
    result = CliRunner().invoke(cli, ["fit", str(bad), "-o", str(out)])
    assert result.exit_code == 2
    assert "bad.csv" in result.output and "row 1" in result.output
    assert not out.exists()


def test_sample_needs_exactly_one_model_source(tmp_path):
    result = CliRunner().invoke(cli, ["model", "sample", "--g-target", "1e-6", "--t", "1", "-o", str(tmp_path / "x")])
    assert result.exit_code != 0 and "exactly one" in result.output


@pytest.mark.parametrize("command", [["fit"], ["model"], ["model", "show"], ["model", "sample"]])
def test_every_command_has_help(command):
    result = CliRunner().invoke(cli, command + ["--help"])
    assert result.exit_code == 0 and "Usage" in result.output


def test_foreign_file_fits_through_inline_columns_with_a_base_preset(tmp_path):
    # a tester's own format (uS, minutes, degC, ';'); only drift data, so the rest comes from the preset
    out = tmp_path / "m.h5"
    result = _run("fit", EXAMPLES / "foreign_tester_run.csv", "--column", "device=cell_id",
                  "--column", "g_target=level_uS:uS", "--column", "t=elapsed_min:min", "--column", "g=G_uS:uS",
                  "--column", "temperature=chamber_C:degC", "--column", "delimiter=;", "--t0", "10",
                  "--t-read", "1e-6", "--base-preset", "joshi2020", "-o", out)
    assert result.exit_code == 0, result.output
    model = load_model(out)
    assert model.g_max == pytest.approx(24e-6)
    mean, _ = model.nu_stats(np.array([4e-6, 24e-6]))
    assert np.all((mean > 0.01) & (mean < 0.15))
    assert "nu laws: fitted from drift data" in result.output


def test_fit_that_cannot_proceed_names_the_missing_data_and_writes_nothing(tmp_path):
    out = tmp_path / "m.h5"
    result = CliRunner().invoke(cli, ["fit", str(EXAMPLES / "program_run.csv"), "--t0", "10", "-o", str(out)])
    assert result.exit_code == 2
    assert "no drift data" in result.output
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_kind_option_overrides_detection(tmp_path):
    # the drift file declared a read-noise time series: its log-spaced reads cannot give a PSD -> clear error
    out = tmp_path / "m.h5"
    result = CliRunner().invoke(cli, ["fit", str(EXAMPLES / "drift_run.csv"), "--kind", "timeseries",
                                      "--base-preset", "joshi2020", "-o", str(out)])
    assert result.exit_code == 2 and "not sampled uniformly" in result.output
    assert not out.exists()


def test_model_show_rejects_a_file_that_is_not_a_model(tmp_path):
    path = tmp_path / "x.h5"
    path.write_bytes(b"not hdf5 at all")
    result = CliRunner().invoke(cli, ["model", "show", str(path)])
    assert result.exit_code == 2
    assert result.output.startswith("devicelab: error:") and "x.h5" in result.output


def test_model_sample_rejects_non_numeric_targets(tmp_path):
    result = CliRunner().invoke(cli, ["model", "sample", "--preset", "joshi2020", "--g-target", "1e-6,abc",
                                      "--t", "1", "-o", str(tmp_path / "s.csv")])
    assert result.exit_code == 2 and "--g-target" in result.output
    assert not (tmp_path / "s.csv").exists()
