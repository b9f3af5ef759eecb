"""`devicelab evaluate --dac-bits none --adc-bits none`: exact IO from the command line (aihwkit's is_perfect).

The engine's exact path itself is specified in test_hardware.py (float result without device noise); these
tests check what the command line makes of the option.
"""

import json

import pytest
from click.testing import CliRunner

from devicelab.cli import cli


def run(tmp_path, *args):
    return CliRunner().invoke(cli, ["evaluate", "--network", "mlp-hwa", "--dataset", "digits", "--preset",
                                    "joshi2020", "--times", "20", "--repeats", "1", "--test-limit", "60",
                                    "--no-progress", "--json", "-o", str(tmp_path), *args])


@pytest.mark.parametrize("spelling", ["none", " NONE "])
def test_none_in_any_case_means_exact_and_is_recorded_as_null(tmp_path, spelling):
    result = run(tmp_path, "--dac-bits", spelling, "--adc-bits", spelling)
    assert result.exit_code == 0, result.output
    config = json.loads(result.output)["config"]
    assert config["dac_bits"] is None and config["adc_bits"] is None


def test_exact_io_attribution_has_no_dac_or_adc_curve(tmp_path):
    result = run(tmp_path, "--dac-bits", "none", "--adc-bits", "none", "--attribution")
    assert result.exit_code == 0, result.output
    singles = {name for name in json.loads(result.output)["curves"] if "+" not in name}  # pairs are "a+b"
    assert singles == {"all", "programming_noise", "drift", "read_noise"}


def test_quantized_io_attribution_keeps_dac_and_adc_curves(tmp_path):
    result = run(tmp_path, "--dac-bits", "6", "--adc-bits", "none", "--attribution")
    assert result.exit_code == 0, result.output
    curves = set(json.loads(result.output)["curves"])
    assert "dac" in curves and "adc" not in curves


@pytest.mark.parametrize("option, value", [("--dac-bits", "0"), ("--adc-bits", "1")])
def test_bit_counts_outside_the_range_are_refused_in_one_line(tmp_path, option, value):
    result = run(tmp_path, option, value)
    assert result.exit_code == 2
    assert "dac_bits must be in 1..24 or None" in result.output


def test_readme_aihwkit_reproduction_command_runs(tmp_path):
    """The README's aihwkit-equivalent settings (per-tile scaling, 256x256 tiles, exact IO, global drift
    compensation, aihwkit times + 20 s), shortened to two read times and 60 images."""
    result = CliRunner().invoke(cli, [
        "evaluate", "--network", "mlp-hwa", "--dataset", "digits", "--preset", "joshi2020", "--tile-size", "256",
        "--scaling", "tile", "--dac-bits", "none", "--adc-bits", "none", "--output-noise", "0",
        "--compensation", "global", "--times", "20,86420", "--repeats", "1", "--test-limit", "60",
        "--no-progress", "--json", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["curves"]["all"]["times_s"] == [20.0, 86420.0]
    assert (data["config"]["scaling"], data["config"]["tile_rows"], data["compensation"]) == ("tile", 256, "global")
