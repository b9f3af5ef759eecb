"""ADC netlist text: deterministic (golden files), validated specs and inputs (no simulator)."""

import math
from pathlib import Path

import numpy as np
import pytest

from devicelab.errors import ConfigError
from devicelab.spice.adc.netlist import (
    RampADCSpec,
    SARADCSpec,
    build_ramp_netlist,
    build_sar_netlist,
    reference_netlists,
    sar_capacitances,
)

NETLISTS = Path(__file__).resolve().parents[2] / "netlists"


@pytest.mark.parametrize("name", ["adc_sar_4bit.cir", "adc_ramp_4bit.cir"])
def test_reference_netlists_match_the_golden_files(name):
    golden = (NETLISTS / name).read_text()
    assert reference_netlists()[name] == golden, (
        f"netlists/{name} differs from the builder; if the change is intended regenerate with "
        "devicelab.spice.adc.netlist.write_reference_netlists('netlists')")


def test_netlist_text_is_deterministic():
    spec = SARADCSpec(bits=5)
    assert build_sar_netlist(spec, [0.1, 0.2]) == build_sar_netlist(spec, np.array([0.1, 0.2]))


def test_sar_netlist_has_one_capacitor_per_bit_and_a_dummy_with_binary_weights():
    spec = SARADCSpec(bits=5, c_unit=10e-15)
    lines = build_sar_netlist(spec, [0.5]).splitlines()
    array = [line.split() for line in lines if line.startswith("C") and line.split()[1:3] != ["x", "0"]]
    caps = {words[0]: float(words[3]) for words in array if words[1] == "x"}
    assert caps == pytest.approx({"Cd": 1e-14, "C0": 1e-14, "C1": 2e-14, "C2": 4e-14, "C3": 8e-14, "C4": 1.6e-13})


def test_ramp_current_gives_one_lsb_per_clock_period():
    spec = RampADCSpec(bits=6, vref=0.8, c_ramp=2e-12, t_clk=5e-9)
    assert spec.i_ramp * spec.t_clk / spec.c_ramp == pytest.approx(0.8 / 64, rel=1e-12)


def test_capacitor_mismatch_scales_with_one_over_sqrt_units(rng):
    # 4000 draws of a 3-bit array: relative std of the 4-unit capacitor is mismatch / 2 (within 5 %,
    # the standard error of a std estimate from 4000 samples is ~1.1 %)
    spec = SARADCSpec(bits=3, cap_mismatch=0.02)
    draws = np.array([sar_capacitances(spec, rng) for _ in range(4000)]) / (spec.c_unit * np.array([1, 1, 2, 4]))
    np.testing.assert_allclose(draws.std(axis=0), 0.02 / np.sqrt([1, 1, 2, 4]), rtol=0.05)


def test_capacitor_mismatch_needs_an_rng():
    with pytest.raises(ConfigError, match="rng"):
        sar_capacitances(SARADCSpec(bits=3, cap_mismatch=0.01))


@pytest.mark.parametrize("field, value", [("bits", 1), ("bits", 11), ("bits", 4.0), ("vref", -1.0),
                                          ("comparator_offset", math.nan), ("comparator_noise", -1e-3),
                                          ("t_bit", 1e-12), ("c_unit", math.inf)])
def test_sar_spec_rejects_invalid_values(field, value):
    with pytest.raises(ConfigError, match=field):
        SARADCSpec(**{field: value})


@pytest.mark.parametrize("field, value", [("r_leak", -1.0), ("slope_error", 0.7), ("sample_cycles", 0),
                                          ("t_clk", math.nan)])
def test_ramp_spec_rejects_invalid_values(field, value):
    with pytest.raises(ConfigError, match=field):
        RampADCSpec(**{field: value})


@pytest.mark.parametrize("inputs", [[], [0.1, math.nan], [[0.1, 0.2]], ["0.1; .control"]])
def test_netlists_reject_invalid_inputs(inputs):
    with pytest.raises(ConfigError):
        build_sar_netlist(SARADCSpec(bits=3), inputs)
    with pytest.raises(ConfigError):
        build_ramp_netlist(RampADCSpec(bits=3), inputs)


def test_noise_must_have_one_value_per_decision():
    with pytest.raises(ConfigError, match="shape"):
        build_sar_netlist(SARADCSpec(bits=3), [0.1, 0.2], noise=np.zeros((2, 4)))
    with pytest.raises(ConfigError, match="shape"):
        build_ramp_netlist(RampADCSpec(bits=3), [0.1, 0.2], noise=np.zeros((2, 8)))
