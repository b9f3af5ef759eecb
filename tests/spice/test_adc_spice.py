"""Real ngspice transients of small SAR and single-slope ADCs: transfer curve, offset, noise and energy."""

from pathlib import Path

import numpy as np
import pytest

from devicelab.spice.adc.characterize import characterize_adc, simulate_adc
from devicelab.spice.adc.metrics import ideal_transitions
from devicelab.spice.adc.netlist import RampADCSpec, SARADCSpec, sar_capacitances
from devicelab.spice.runner import run_netlist

pytestmark = pytest.mark.spice
NETLISTS = Path(__file__).resolve().parents[2] / "netlists"
BITS = 4
LSB = 1.0 / 2**BITS


@pytest.fixture(scope="module", params=["sar", "ramp"])
def characterization(request):
    spec = SARADCSpec(bits=BITS) if request.param == "sar" else RampADCSpec(bits=BITS)
    return characterize_adc(spec, 8 * 2**BITS, rng=np.random.default_rng(7), n_heldout=0)


def test_transfer_curve_matches_the_ideal_one_within_the_sweep_resolution(characterization):
    # the code-density estimate is within half a sweep step of the true transition; the nominal circuits
    # are ideal to ~1e-3 LSB (comparator transition width 10 uV, settled switches), allowed 0.02 LSB
    step = characterization.inputs[1] - characterization.inputs[0]
    error = np.abs(characterization.transitions - ideal_transitions(BITS, 0.0, 1.0))
    assert error.max() <= step / 2 + 0.02 * LSB
    assert characterization.linearity.missing_codes == ()
    assert characterization.linearity.max_dnl <= step / LSB + 0.04  # two transitions, each +-step/2


def test_enob_of_the_nominal_converters_is_close_to_their_resolution(characterization):
    # a perfect quantizer sampled at 8 points per code gives ENOB = bits to within ~0.02 bit
    assert characterization.enob == pytest.approx(BITS, abs=0.05)


def test_sar_with_capacitor_mismatch_has_the_transitions_of_its_capacitor_array():
    # charge redistribution: the comparator flips at vin = vref * sum(b_k C_k) / C_array (C_array including the
    # dummy; the parasitic only scales the comparator input), so transition c sits at the DAC level of code c
    # (binary search over a monotonic DAC). The mismatch moves some levels by more than the sweep resolution,
    # so the ideal transfer curve would fail the same check.
    spec = SARADCSpec(bits=BITS, cap_mismatch=0.05)
    char = characterize_adc(spec, 16 * 2**BITS, rng=np.random.default_rng(11), n_heldout=0)
    caps = char.capacitances
    codes = np.arange(1, 2**BITS)
    bits = (codes[:, None] >> np.arange(BITS)[None, :]) & 1
    expected = spec.vref * (bits @ caps[1:]) / caps.sum()
    half_step = (char.inputs[1] - char.inputs[0]) / 2
    assert np.max(np.abs(char.transitions - expected)) <= half_step + 0.02 * LSB
    assert np.max(np.abs(expected - ideal_transitions(BITS, 0.0, 1.0))) > 2 * half_step


def _at_shifted_transitions(shift, codes=(1, 5, 8, 12, 15), delta=0.05 * LSB):
    """Inputs just below and above the given transitions shifted by ``shift`` (V), and their codes."""
    k = np.array(codes)
    t = ideal_transitions(BITS, 0.0, 1.0)[k - 1] + shift
    return np.column_stack([t - delta, t + delta]).ravel(), np.column_stack([k - 1, k]).ravel()


@pytest.mark.parametrize("spec", [SARADCSpec(bits=BITS, comparator_offset=0.02),
                                  RampADCSpec(bits=BITS, comparator_offset=0.02)], ids=["sar", "ramp"])
def test_comparator_offset_shifts_every_transition_by_the_offset_referred_to_the_input(spec):
    # SAR: the array attenuates the input by C_array / (C_array + C_parasitic), so the input-referred shift
    # is vos / gain; ramp: gain 1. Inputs 0.05 LSB on either side of each shifted transition must give the
    # codes on either side; without the shift (0.32 LSB) they would all be the upper code.
    shift = spec.comparator_offset / spec.input_gain()
    inputs, expected = _at_shifted_transitions(shift)
    np.testing.assert_array_equal(simulate_adc(spec, inputs).codes, expected)


def _switched_capacitor_energy(spec, vin):
    """Energy (J) drawn from vref by an ideal switched-capacitor DAC, one switching event per decision."""
    caps = sar_capacitances(spec)
    cb, ct = caps[1:], caps.sum() + spec.c_parasitic
    qx = -caps.sum() * vin  # top-plate charge after sampling with the top plate at 0 V
    plates, vx = np.zeros(spec.bits), qx / ct  # bottom plates grounded between sampling and the first trial
    energy = 0.0
    for k in range(spec.bits - 1, -1, -1):
        new = plates.copy()
        new[k] = spec.vref
        vx_new = (qx + cb @ new) / ct
        on_ref = new == spec.vref
        energy += spec.vref * np.sum(cb[on_ref] * ((new - vx_new) - (plates - vx))[on_ref])
        plates, vx = new, vx_new
        if vx_new >= 0:  # comparator rejects the bit: the plate returns to ground with the next trial
            plates[k] = 0.0
    return energy


def test_sar_reference_energy_matches_an_ideal_switched_capacitor_dac():
    # bias off: the supply energy is the DAC switching energy; switches with 1 pS off-conductance and
    # finite edges make the circuit differ from the ideal charge-transfer model by < 0.5 %, allowed 1 %
    spec = SARADCSpec(bits=BITS, comparator_bias=0.0)
    inputs = np.array([0.0, 0.1, 0.37, 0.81, 0.99])
    run = simulate_adc(spec, inputs)
    expected = [_switched_capacitor_energy(spec, v) for v in inputs]
    np.testing.assert_allclose(run.energy, expected, rtol=0.01)


def test_ramp_energy_is_ramp_current_plus_comparator_bias_times_supply():
    # both currents are gated by trapezoidal control pulses: ramp on for T - t_sample + t_edge, comparator
    # for T - t_sample - t_edge; the energy is independent of the input
    spec = RampADCSpec(bits=BITS, comparator_bias=5e-6)
    run = simulate_adc(spec, [0.2, 0.7])
    on = spec.t_conversion - spec.t_sample
    expected = spec.vdd * (spec.i_ramp * (on + spec.t_edge) + spec.comparator_bias * (on - spec.t_edge))
    np.testing.assert_allclose(run.energy, expected, rtol=0.005)


def test_comparator_noise_splits_codes_at_a_transition_evenly():
    # input 0.02 LSB above the mid-scale transition (clear of the noise-free comparator's metastable point),
    # noise 0.25 LSB: P(upper code) = Phi(0.08) = 0.53; 48 conversions give a binomial std of 0.072, the
    # bounds are 3 std wide. Noise-free, every conversion gives the upper code.
    inputs = np.full(48, 0.5 + 0.02 * LSB)
    noisy = simulate_adc(SARADCSpec(bits=BITS, comparator_noise=0.25 * LSB), inputs, rng=np.random.default_rng(3))
    assert set(noisy.codes) <= {7, 8}
    assert 0.532 - 0.216 <= np.mean(noisy.codes == 8) <= 0.532 + 0.216
    quiet = simulate_adc(SARADCSpec(bits=BITS), inputs[:4])
    np.testing.assert_array_equal(quiet.codes, 8)


@pytest.mark.parametrize("name", ["adc_sar_4bit.cir", "adc_ramp_4bit.cir"])
def test_reference_netlists_convert_their_inputs_with_the_5mV_offset(name):
    # inputs 0.03, 0.33, 0.5, 0.71, 0.97 V; code = floor((v - 5 mV) * 16): 0.5 V falls just below code 8
    result = run_netlist((NETLISTS / name).read_text(), timeout=120)
    spec = SARADCSpec(bits=BITS) if "sar" in name else RampADCSpec(bits=BITS)
    vectors = result.vectors()
    codes = np.rint(np.interp(spec.readout_times(5), vectors["time"], vectors["code"]))
    np.testing.assert_array_equal(codes, [0, 5, 7, 11, 15])


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sar", "ramp"])
def test_eight_bit_converters_have_inl_and_dnl_within_the_sweep_resolution(kind):
    spec = SARADCSpec(bits=8) if kind == "sar" else RampADCSpec(bits=8)
    char = characterize_adc(spec, 4 * 256, rng=np.random.default_rng(1), n_heldout=0)
    res = char.transition_resolution
    assert char.linearity.max_inl <= 2 * res + 0.02 and char.linearity.max_dnl <= 2 * res + 0.04
    assert char.enob == pytest.approx(8, abs=0.1)


def test_checkpointed_runs_resume_without_ngspice_and_only_for_the_same_netlist(tmp_path, monkeypatch):
    import devicelab.spice.adc.characterize as adc_characterize

    spec = SARADCSpec(bits=3)
    first = simulate_adc(spec, [0.1, 0.6], checkpoint_dir=tmp_path)

    def no_ngspice(*args, **kwargs):
        raise AssertionError("ngspice must not run for a checkpointed netlist")

    monkeypatch.setattr(adc_characterize, "run_netlist", no_ngspice)
    again = simulate_adc(spec, [0.1, 0.6], checkpoint_dir=tmp_path)
    np.testing.assert_array_equal(again.codes, first.codes)
    np.testing.assert_array_equal(again.energy, first.energy)
    with pytest.raises(AssertionError, match="must not run"):  # another netlist is not taken from the checkpoint
        simulate_adc(SARADCSpec(bits=3, comparator_offset=1e-3), [0.1, 0.6], checkpoint_dir=tmp_path)


def test_a_run_that_exceeds_its_timeout_fails_clearly():
    from devicelab.errors import SimulationError

    with pytest.raises(SimulationError, match="timeout"):
        simulate_adc(SARADCSpec(bits=3), [0.1, 0.6], timeout=1e-3)
