"""Specification of the training arithmetic: chi accumulator, pulsed SGD, quantization, analog MVMs, synapses."""

import numpy as np
import pytest

from devicelab.devices.update import nandakumar2018
from devicelab.errors import ConfigError
from devicelab.training.synapses import (
    PulsedSynapses,
    SynapseConfig,
    TileIO,
    analog_mvm,
    mixed_precision_pulses,
    quantize,
    sgd_pulses,
)


def test_chi_accumulator_fires_exact_pulse_counts_on_hand_made_cases():
    chi = np.array([0.0, 0.125, -0.125, 0.0, 0.0])
    dw = np.array([0.2, 0.25, -0.5, 3.0, -0.2])
    pulses, rest = mixed_precision_pulses(chi, dw, epsilon=0.25, max_pulses=10)
    # 0.2 -> 0 pulses (kept); 0.375 -> 1 (0.125 left); -0.625 -> -2 (-0.125 left); 3.0 -> 12 capped at 10.
    np.testing.assert_array_equal(pulses, [0, 1, -2, 10, 0])
    np.testing.assert_array_equal(rest, [0.2, 0.125, -0.125, 0.5, -0.2])
    np.testing.assert_array_equal(chi, [0.0, 0.125, -0.125, 0.0, 0.0])  # input unchanged


def test_chi_accumulator_turns_many_small_updates_into_one_pulse_per_epsilon():
    chi = np.zeros(1)
    fired = []
    for _ in range(16):  # 16 x 1/16 = 4 epsilons of 0.25 (binary-exact)
        p, chi = mixed_precision_pulses(chi, np.array([1 / 64]), 0.0625, 5)
        fired.append(int(p[0]))
    assert fired == [0, 0, 0, 1] * 4 and chi[0] == 0.0


def test_chi_accumulator_conserves_the_requested_change(rng):
    chi = np.zeros(1000)
    total_pulses = np.zeros(1000)
    requested = np.zeros(1000)
    for _ in range(50):
        dw = rng.normal(0, 0.03, 1000)
        requested += dw
        p, chi = mixed_precision_pulses(chi, dw, 0.1, 100)
        total_pulses += p
    np.testing.assert_allclose(total_pulses * 0.1 + chi, requested, atol=1e-12)
    assert np.all(np.abs(chi) < 0.1)


def test_pulsed_sgd_rounds_and_forgets_small_updates():
    np.testing.assert_array_equal(sgd_pulses(np.array([0.04, 0.06, -0.16, 5.0]), 0.1, 3), [0, 1, -2, 3])
    with pytest.raises(ConfigError):
        sgd_pulses(np.ones(1), 0.0, 3)


def test_quantize_rounds_to_the_grid_and_clips():
    lsb = 1.0 / 127
    np.testing.assert_allclose(quantize(np.array([0.3 * lsb, 0.7 * lsb, 2.0, -3.0]), 8, 1.0), [0, lsb, 1, -1])
    np.testing.assert_array_equal(quantize(np.array([0.123, 5.0]), 0, 1.0), [0.123, 1.0])


def test_analog_mvm_without_noise_matches_float_within_quantization(rng):
    x = rng.uniform(0, 1, (50, 30)).astype(np.float32)
    w = rng.uniform(-0.2, 0.2, (8, 30)).astype(np.float32)
    y = analog_mvm(x, w, TileIO(dac_bits=12, adc_bits=12, out_bound=10.0), rng)
    # 12-bit DAC over [-1, 1] and ADC over [-10, 10]: errors below 30 * lsb_dac * 0.2 + lsb_adc ~ 0.008.
    np.testing.assert_allclose(y, x @ w.T, atol=0.008)


def test_analog_mvm_read_noise_has_the_stated_output_variance(rng):
    x = np.ones((20_000, 16), np.float32)
    w = np.zeros((2, 16), np.float32)
    y = analog_mvm(x, w, TileIO(dac_bits=0, adc_bits=0), rng, noise_var=0.01)
    # output std = sqrt(16 * 0.01) = 0.4; 40k draws: relative standard error 0.35 %; allow 2 %.
    assert y.std() == pytest.approx(0.4, rel=0.02)


def test_program_and_verify_lands_within_a_step_of_the_targets(rng):
    model = nandakumar2018()
    tiles = PulsedSynapses((40, 50), model, 1.0, SynapseConfig(), rng)
    target = rng.uniform(-0.6, 0.6, (40, 50))
    tiles.program(target, rng)
    error = tiles.weights() - target
    # Verify stops within half a mean step below the target; one stochastic step (mean <= epsilon, spread
    # ~0.6 epsilon) may overshoot: the mean error is a fraction of epsilon and no error exceeds 4 epsilon.
    assert abs(error.mean()) < 0.5 * tiles.epsilon
    assert np.abs(error).max() < 4 * tiles.epsilon


def test_pulses_go_to_the_side_of_their_sign_and_multi_device_arbitration_rotates(rng):
    model = nandakumar2018().replace(d2d=0.0)
    tiles = PulsedSynapses((1, 2), model, 1.0, SynapseConfig(devices_per_side=3), rng)
    before_p, before_m = tiles.g_plus.copy(), tiles.g_minus.copy()
    for _ in range(3):
        tiles.apply(np.array([[1, -1]]), rng)
    assert np.all(tiles.g_plus[:, 0, 0] != before_p[:, 0, 0]) and np.all(tiles.g_minus[:, 0, 0] == before_m[:, 0, 0])
    assert np.all(tiles.g_minus[:, 0, 1] != before_m[:, 0, 1]) and np.all(tiles.g_plus[:, 0, 1] == before_p[:, 0, 1])
    np.testing.assert_array_equal(tiles.n_plus[:, 0, 0], [1, 1, 1])  # one pulse on each of the 3 devices
    assert tiles.pulses == 6


def test_refresh_resets_saturated_pairs_and_keeps_their_weight(rng):
    model = nandakumar2018().replace(read_noise=0.0)
    tiles = PulsedSynapses((30, 30), model, 1.0, SynapseConfig(refresh_threshold=0.3), rng)
    tiles.program(np.full((30, 30), 0.2), rng)
    tiles.apply(np.full((30, 30), -10), rng)  # pushes G- up: weight down, both sides high
    w_before = tiles.weights()
    saturated = (np.maximum(tiles.g_plus, tiles.g_minus) > 0.3 * model.g_max).any(axis=0)
    assert saturated.sum() > 100
    refreshed = tiles.refresh(rng)
    assert refreshed == saturated.sum()
    assert np.all(np.minimum(tiles.g_plus, tiles.g_minus)[0][saturated] < 0.3e-6)  # one side back at RESET
    # reprogramming error as in program-and-verify: mean well below epsilon
    assert abs((tiles.weights() - w_before)[saturated].mean()) < 0.5 * tiles.epsilon
