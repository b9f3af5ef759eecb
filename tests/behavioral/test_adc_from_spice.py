"""Behavioral ADC models built from real ngspice characterizations, checked on held-out SPICE codes; CLI."""

import numpy as np
import pytest
from click.testing import CliRunner

from devicelab.behavioral import from_characterization, load_adc_model
from devicelab.cli import cli
from devicelab.spice.adc.characterize import characterize_adc
from devicelab.spice.adc.netlist import SARADCSpec

pytestmark = pytest.mark.spice


@pytest.fixture(scope="module")
def sar_model():
    # a 4-bit SAR with 5 % unit-capacitor mismatch and a 20 mV (0.32 LSB) comparator offset
    spec = SARADCSpec(bits=4, cap_mismatch=0.05, comparator_offset=0.02)
    char = characterize_adc(spec, 128, rng=np.random.default_rng(5), n_heldout=48)
    return char, from_characterization(char)


def test_model_disagrees_with_spice_only_within_the_transition_resolution(sar_model):
    # each estimated transition is within half a sweep step of the true one, so a held-out input can only
    # get a different code from SPICE if it lies that close to a model transition
    char, model = sar_model
    table = model.error_table
    wrong = table["inputs"][table["model_codes"] != table["spice_codes"]]
    half_step = (char.inputs[1] - char.inputs[0]) / 2
    for v in wrong:
        assert np.min(np.abs(model.transitions - v)) <= half_step + 1e-12
    assert table["max_abs_code_error"] <= 1


def test_model_reproduces_held_out_spice_codes_better_than_an_ideal_adc(sar_model):
    # expected disagreement <= sum |transition error| / range <= 15 * half step = 7.4 %; with 48 inputs the
    # binomial std is 3.8 %, so >= 80 % exact is a 3-std bound. The ideal ADC misses the 0.32 LSB offset.
    _, model = sar_model
    table = model.error_table
    assert table["n_inputs"] == 48
    assert table["fraction_exact"] >= 0.80
    assert table["fraction_exact"] > table["ideal_fraction_exact"]


def test_model_carries_the_characterized_offset_energy_and_timing(sar_model):
    char, model = sar_model
    assert model.energy_per_conversion == char.energy_per_conversion > 0
    assert model.t_conversion == pytest.approx(20e-9 + 4 * 20e-9)
    assert model.linearity().offset == pytest.approx(char.linearity.offset)
    assert model.linearity().offset == pytest.approx(0.02 / char.spec.input_gain(char.capacitances),
                                                      abs=0.15 * model.lsb)  # mismatch moves the fit a little


def test_cli_characterize_writes_model_and_plots(tmp_path):
    out, report = tmp_path / "adc.h5", tmp_path / "report"
    result = CliRunner().invoke(cli, ["adc", "characterize", "--type", "ramp", "--bits", "3", "--points", "48",
                                      "--heldout", "8", "--offset", "0.01", "-o", str(out), "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert "ENOB" in result.output and "energy per conversion" in result.output
    model = load_adc_model(out)
    assert model.bits == 3 and model.kind == "ramp" and model.error_table["n_inputs"] == 8
    assert sorted(p.name for p in report.iterdir()) == ["adc_ramp_3bit_inl_dnl.png", "adc_ramp_3bit_transfer.png"]
    shown = CliRunner().invoke(cli, ["adc", "show", str(out)])
    assert shown.exit_code == 0 and "3-bit ramp ADC" in shown.output


def test_cli_refuses_an_option_of_the_other_converter(tmp_path):
    result = CliRunner().invoke(cli, ["adc", "characterize", "--type", "sar", "--bits", "3", "--r-leak", "1e6",
                                      "-o", str(tmp_path / "adc.h5")])
    assert result.exit_code == 2 and "--r-leak applies to --type ramp only" in result.output
    assert not (tmp_path / "adc.h5").exists()


@pytest.mark.slow
def test_demo_step_exports_loadable_sar_and_ramp_models(tmp_path):
    from devicelab.behavioral.adc_build import demo_adc_models

    paths, sections = demo_adc_models(tmp_path, np.random.default_rng(0))
    assert set(paths) == {"sar", "ramp"} and len(sections) == 2
    for kind, bits in (("sar", 6), ("ramp", 5)):
        model = load_adc_model(paths[kind])
        assert model.bits == bits and model.kind == kind
        assert model.error_table["fraction_exact"] >= 0.85  # see test_model_reproduces_held_out_spice_codes_...
    for _, body in sections:
        for line in body.splitlines():
            if line.startswith("!["):
                assert (tmp_path / line[line.index("(") + 1:-1]).is_file()
