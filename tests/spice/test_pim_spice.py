"""MRAM PIM column netlists: golden files, ngspice decisions and voltages, bad input, Monte Carlo BER shape."""

from pathlib import Path

import numpy as np
import pytest

from devicelab.devices.mtj import low_tmr, pim_default
from devicelab.errors import ConfigError
from devicelab.spice.pim import (
    OPERATIONS,
    SenseSpec,
    build_mc_netlist,
    characterize_bitops,
    exact_output,
    op_output,
    reference_voltages,
    sense_voltage,
)
from devicelab.spice.pim.characterize import all_patterns
from devicelab.spice.pim.netlist import reference_netlists
from devicelab.spice.runner import run_netlist

NETLISTS = Path(__file__).resolve().parents[2] / "netlists"


@pytest.mark.parametrize("name", sorted(reference_netlists()))
def test_golden_netlist_is_unchanged(name):
    assert reference_netlists()[name] == (NETLISTS / name).read_text()


@pytest.mark.parametrize("n", [2, 3])
def test_nominal_column_decides_every_operation_exactly(n):
    """Golden netlist (nominal devices, no offset): SA outputs equal the error-free operations, and V_BL equals
    the numpy DC solution within 2e-3: the slowest line (2 AP cells, R ~ 6.5 kohm, C_BL 50 fF, tau ~ 0.33 ns)
    has settled to exp(-t_sense / tau) ~ 2e-3 of its step at the sampling instant."""
    model, spec = pim_default(), SenseSpec()
    vectors = run_netlist((NETLISTS / f"mram_pim_column_{n}rows.cir").read_text()).vectors()
    bits = all_patterns(n)
    ts = spec.t_sample
    thermo = np.array([[np.interp(ts, vectors["time"], vectors[f"o{j}_{m}"]) > 0.5 for m in range(1, n + 1)]
                       for j in range(len(bits))])
    k = bits.sum(axis=1)
    for op, (rows, _) in OPERATIONS.items():
        if rows == n:
            np.testing.assert_array_equal(op_output(op, thermo), exact_output(op, k), err_msg=op)
    v = np.array([np.interp(ts, vectors["time"], vectors[f"bl{j}"]) for j in range(len(bits))])
    np.testing.assert_allclose(v, sense_voltage(bits, model, spec), rtol=2e-3)


def test_references_lie_between_the_nominal_levels():
    model, spec = pim_default(), SenseSpec()
    levels = sense_voltage(np.tril(np.ones((4, 3)), -1), model, spec)
    refs = reference_voltages(model, spec, 3)
    assert np.all(levels[:-1] < refs) and np.all(refs < levels[1:])


def test_full_adder_outputs_are_sum_and_carry():
    k = np.arange(4)
    np.testing.assert_array_equal(exact_output("fa_sum", k), k % 2 == 1)
    np.testing.assert_array_equal(exact_output("fa_carry", k), k >= 2)


def test_too_many_activated_rows_is_rejected():
    model, spec = pim_default(), SenseSpec()
    bits = np.ones((1, 4), dtype=int)
    with pytest.raises(ConfigError, match="at most 3"):
        build_mc_netlist(model, spec, bits, bits * 5e3, bits * 12e3, bits * 0.0)
    with pytest.raises(ConfigError, match="at most 2"):
        reference_voltages(model, SenseSpec(max_rows=2), 3)


def test_small_monte_carlo_counts_errors_at_a_poor_corner():
    """TMR 50 % with 10 % spread: the 1-vs-2-ones margin (~8 mV) is about the sensed-voltage spread (~5 mV),
    so maj3 must fail on mixed patterns; all-zero/all-one patterns keep > 20 mV margins and must not."""
    model = low_tmr().replace(sigma_p=0.1, sigma_ap=0.1)
    char = characterize_bitops(model, SenseSpec(max_rows=3), 6, rng=np.random.default_rng(3))
    errors, trials = char.errors("maj3")
    assert trials.tolist() == [6, 18, 18, 6]
    assert errors[1] + errors[2] > 0 and errors[0] == errors[3] == 0
    assert 1e-15 < char.op_energy["fa_sum"] < 1e-12
    assert char.op_energy["fa_sum"] > char.op_energy["maj3"]  # three SAs and references instead of one


@pytest.mark.slow
def test_monte_carlo_ber_vanishes_as_tmr_grows():
    """Sum-bit error rate over all 3-row patterns at 8 % spread falls with TMR and is below 1 % at TMR 200 %
    (320 trials each: a drop from 0.4 to 0.8 and from 0.8 to 2.0 much larger than the binomial spread)."""
    rates = []
    for tmr in (0.4, 0.8, 2.0):
        model = pim_default().replace(tmr0=tmr, sigma_p=0.08, sigma_ap=0.08)
        char = characterize_bitops(model, SenseSpec(), 40, rng=np.random.default_rng(5))
        errors, trials = char.errors("fa_sum")
        rates.append(errors.sum() / trials.sum())
    assert rates[0] > rates[1] > rates[2] and rates[2] < 0.01
